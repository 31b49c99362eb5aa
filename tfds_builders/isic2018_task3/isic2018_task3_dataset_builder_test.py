"""isic2018_task3 on the real HAM10000 files in ../shared, and on malformed copies of them."""

import collections

import pytest

from tfds_builders import common, isic2018_task3, testing
from tfds_builders.isic2018_task3 import isic2018_task3_dataset_builder as isic

SUBSET = testing.HAM
pytestmark = pytest.mark.skipif(not SUBSET.is_dir(), reason=f'needs the shared HAM10000 subset at {SUBSET}')


def build(manual_dir, data_dir, config='official'):
  return testing.build(isic2018_task3, manual_dir, data_dir, config)


@pytest.fixture(scope='module')
def lesion_split(tmp_path_factory):
  return build(SUBSET, tmp_path_factory.mktemp('tfds'), 'lesion_split')


def test_official_config_builds_what_is_there(tmp_path):
  builder = build(SUBSET, tmp_path)
  assert list(builder.info.splits) == ['train']  # No validation or test part in the subset.
  source = builder.as_data_source(split='train')
  assert len(source) == 5984
  example = next(e for e in source if e['image_id'] == b'ISIC_0027419')
  names = builder.info.features
  assert names['label'].int2str(example['label']) == 'bkl' and example['lesion_id'] == b'HAM_0000118'
  assert example['age'] == 80 and names['sex'].int2str(example['sex']) == 'male'
  assert names['site'].int2str(example['site']) == 'head/neck'  # HAM10000's 'scalp'.
  assert example['image'].shape == (224, 224, 3)


def test_lesion_split_keeps_each_lesion_on_one_side(lesion_split):
  sides = {s: lesion_split.as_data_source(split=s) for s in ('train', 'validation')}
  lesions = {s: {e['lesion_id'] for e in src} for s, src in sides.items()}
  assert not lesions['train'] & lesions['validation']
  assert len(sides['train']) + len(sides['validation']) == 5984
  counts = {s: collections.Counter(int(e['label']) for e in src) for s, src in sides.items()}
  for k in range(7):  # Stratified: about 15% of every diagnosis's images.
    share = counts['validation'][k] / (counts['train'][k] + counts['validation'][k])
    assert 0.13 < share < 0.25, (isic.DIAGNOSES[k], share)


@testing.needs_shared
def test_lesion_split_on_all_of_ham10000():
  rows = common.read_csv(testing.CSV / isic.METADATA, isic.METADATA_COLUMNS)
  records = [
    common.Record(image=None, label=r['dx'], image_id=r['image_id'], where='', source='', lesion_id=r['lesion_id'])
    for _, r in rows
  ]
  split = common.grouped_split(records, {'validation': 0.15, 'train': 0.85}, seed=0)
  ids = {s: [r.image_id for r in rs] for s, rs in split.items()}
  again = common.grouped_split(records, {'validation': 0.15, 'train': 0.85}, seed=0)
  other = common.grouped_split(records, {'validation': 0.15, 'train': 0.85}, seed=1)
  assert ids == {s: [r.image_id for r in rs] for s, rs in again.items()}
  assert ids != {s: [r.image_id for r in rs] for s, rs in other.items()}
  lesions = {s: {r.lesion_id for r in rs} for s, rs in split.items()}
  assert not lesions['train'] & lesions['validation']
  assert 0.145 < len(split['validation']) / len(rows) < 0.155
  for dx in isic.DIAGNOSES:  # Stratified: about 15% of every diagnosis.
    share = sum(r.label == dx for r in split['validation']) / sum(r.label == dx for r in records)
    assert 0.12 < share < 0.18, (dx, share)


def _copy(tmp_path, n=6, ground_truth=None):
  """A small manual directory: the first `n` images of the subset, their labels and metadata."""
  manual = tmp_path / 'manual'
  (manual / isic.PARTS['train'][0]).mkdir(parents=True)
  lines = (SUBSET / isic.PARTS['train'][1]).read_text().splitlines()[: n + 1]
  for line in lines[1:]:
    name = line.split(',')[0] + '.jpg'
    (manual / isic.PARTS['train'][0] / name).write_bytes((SUBSET / isic.PARTS['train'][0] / name).read_bytes())
  (manual / isic.PARTS['train'][1]).write_text('\n'.join(ground_truth(lines) if ground_truth else lines) + '\n')
  (manual / isic.METADATA).write_text((SUBSET / isic.METADATA).read_text())
  return manual


def test_missing_files_are_named(tmp_path):
  manual = _copy(tmp_path)
  (manual / isic.METADATA).unlink()
  with pytest.raises(FileNotFoundError, match=f'missing in {manual}: HAM10000_metadata.csv'):
    build(manual, tmp_path / 'tfds')


def test_wrong_columns_are_named(tmp_path):
  manual = _copy(tmp_path, ground_truth=lambda lines: [lines[0].replace('MEL', 'MELANOMA'), *lines[1:]])
  with pytest.raises(ValueError, match=r"GroundTruth.csv: missing columns \['MEL'\]"):
    build(manual, tmp_path / 'tfds')


def test_a_row_that_is_not_one_hot_is_named(tmp_path):
  manual = _copy(tmp_path, ground_truth=lambda lines: [*lines[:3], lines[3].replace('0.0', '1.0', 1), *lines[4:]])
  with pytest.raises(common.BadInput, match=r'GroundTruth.csv, row 4 \(ISIC_\d+\): expected exactly one 1.0'):
    build(manual, tmp_path / 'tfds')


def test_a_missing_image_is_named(tmp_path):
  manual = _copy(tmp_path)
  victim = next((manual / isic.PARTS['train'][0]).iterdir())
  victim.unlink()
  with pytest.raises(
    common.BadInput, match=rf'GroundTruth.csv, row \d \({victim.stem}\): image {victim} does not exist'
  ):
    build(manual, tmp_path / 'tfds')
