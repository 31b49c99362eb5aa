"""isic2020 from the real ISIC 2020 CSVs (33,126 rows, duplicates list), with stand-in images:
patient-grouped 60/20/20 splits, and the external malignant images."""

import collections

import pytest

from tfds_builders import isic2020, testing
from tfds_builders.isic2020.isic2020_dataset_builder import DUPLICATES, EXTERNAL, GROUND_TRUTH, IMAGES

pytestmark = testing.needs_shared
SPLITS = ('train', 'validation', 'test')


@pytest.fixture(scope='module')
def manual(tmp_path_factory):
  m = tmp_path_factory.mktemp('isic2020') / 'manual'
  testing.copy(GROUND_TRUTH[0], m)
  testing.copy(DUPLICATES, m)
  testing.stand_ins(m / IMAGES, testing.ids(testing.CSV / GROUND_TRUTH[0]))
  return m


def test_patient_split_keeps_patients_and_lesions_on_one_side(manual, tmp_path):
  builder = testing.build(isic2020, manual, tmp_path)
  rows = {s: testing.examples(builder, s) for s in SPLITS}
  assert sum(map(len, rows.values())) == 33126 - 425  # The second image of each duplicate pair.
  for key in ('patient_id', 'lesion_id'):
    sides = {s: {e[key] for e in r} for s, r in rows.items()}
    assert not (sides['train'] & sides['validation'] or sides['train'] & sides['test'])
    assert not sides['validation'] & sides['test']
  total = sum(map(len, rows.values()))
  malignant = {s: sum(int(e['label']) for e in r) for s, r in rows.items()}
  for s, share in zip(SPLITS, (0.6, 0.2, 0.2), strict=True):
    assert abs(len(rows[s]) / total - share) < 0.02, s
    assert abs(malignant[s] / sum(malignant.values()) - share) < 0.03, s  # Stratified by target.
  example = next(e for e in rows['train'] + rows['validation'] + rows['test'] if e['image_id'] == b'ISIC_2637011')
  features = builder.info.features
  assert features['site'].int2str(int(example['site'])) == 'head/neck' and example['age'] == 45
  assert example['patient_id'] == b'IP_7279968' and example['diagnosis'] == b'unknown'
  torso = next(e for r in rows.values() for e in r if e['site_source'] == b'torso')
  assert features['site'].int2str(int(torso['site'])) == 'unknown'  # Which side is not said.


def test_external_malignant_images_are_added_once(manual, tmp_path):
  lines = (testing.CSV / GROUND_TRUTH[0]).read_text().splitlines()[:301]
  manual = tmp_path / 'manual'
  (manual / GROUND_TRUTH[0]).parent.mkdir()
  (manual / GROUND_TRUTH[0]).write_text('\n'.join(lines) + '\n')
  testing.copy(DUPLICATES, manual)
  testing.stand_ins(manual / IMAGES, testing.ids(manual / GROUND_TRUTH[0]))
  header = lines[0].replace('lesion_id,', '')
  external = [header, 'ISIC_0000002,-1,female,60,upper extremity,melanoma,malignant,1']
  external += [
    'ISIC_0000003,-1,male,,torso,nevus,benign,0',
    ','.join(lines[1].split(',')[:2] + lines[1].split(',')[3:]),
  ]
  (manual / EXTERNAL).mkdir()
  (manual / EXTERNAL / 'train_concat.csv').write_text('\n'.join(external) + '\n')
  testing.stand_ins(manual / EXTERNAL / 'train', ['ISIC_0000002', 'ISIC_0000003'])
  builder = testing.build(isic2020, manual, tmp_path, 'patient_split_external')
  sources = collections.Counter(e['source'] for s in SPLITS for e in testing.examples(builder, s))
  assert sources == {b'isic2020': 300, b'external_malignant': 1}  # Malignant, and new.
