"""isic2017 from the real ISIC 2017 Part 3 CSVs (training, validation), with stand-in images."""

import collections

import pytest

from tfds_builders import common, isic2017, testing
from tfds_builders.isic2017.isic2017_dataset_builder import PARTS

pytestmark = testing.needs_shared


def manual(tmp_path, metadata: str = ''):
  m = tmp_path / 'manual'
  for split in ('train', 'validation'):  # The shared files have no test part.
    folder, truth = PARTS[split]
    testing.copy(truth, m)
    testing.stand_ins(m / folder, testing.ids(testing.CSV / truth))
  if metadata:
    (m / PARTS['train'][0] / 'ISIC-2017_Training_Data_metadata.csv').write_text(metadata)
  return m


def test_builds_what_is_there_with_the_released_counts(tmp_path):
  metadata = 'image_id,age_approximate,sex\nISIC_0000000,55,female\nISIC_0000001,unknown,unknown\n'
  builder = testing.build(isic2017, manual(tmp_path, metadata), tmp_path / 'tfds')
  assert sorted(builder.info.splits) == ['train', 'validation']  # No test part here: built without.
  counts = collections.Counter(testing.column(builder, 'train', 'label'))
  assert counts == {'nevus': 1372, 'melanoma': 374, 'seborrheic_keratosis': 254}
  assert builder.info.splits['validation'].num_examples == 150
  ages = dict(zip(testing.column(builder, 'train', 'image_id'), testing.column(builder, 'train', 'age'), strict=True))
  assert ages['ISIC_0000000'] == 55 and ages['ISIC_0000001'] == -1 and ages['ISIC_0000002'] == -1


def test_an_age_out_of_range_is_named(tmp_path):
  m = manual(tmp_path, 'image_id,age_approximate,sex\nISIC_0000000,550,female\n')
  with pytest.raises(common.BadInput, match=r"Training_Data_metadata.csv, row 2 \(ISIC_0000000\): age '550'"):
    testing.build(isic2017, m, tmp_path / 'tfds')


def test_both_flags_set_is_named(tmp_path):
  m = manual(tmp_path)
  truth = m / PARTS['validation'][1]
  testing.replace_line(truth, 2, truth.read_text().splitlines()[2].split(',')[0] + ',1.0,1.0')
  with pytest.raises(common.BadInput, match=r'Validation_Part3_GroundTruth.csv, row 3 .*both melanoma'):
    testing.build(isic2017, m, tmp_path / 'tfds')
