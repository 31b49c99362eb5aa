"""merged from the real HAM10000 subset (with its images) and the real ISIC 2019 and 2020 CSVs
(with stand-in images): one label space, the cap, duplicates removed, grouped validation."""

import collections

from tfds_builders import isic2019, isic2020, merged, testing
from tfds_builders.isic2018_task3 import isic2018_task3_dataset_builder as isic2018

pytestmark = testing.needs_shared


def test_sources_merged_capped_and_deduplicated(tmp_path):
  gt, meta = isic2019.isic2019_dataset_builder.GROUND_TRUTH, isic2019.isic2019_dataset_builder.METADATA
  m = tmp_path / 'manual'
  m.mkdir()
  (m / 'isic2018_task3').symlink_to(testing.HAM, target_is_directory=True)
  testing.copy(gt, m / 'isic2019')
  testing.copy(meta, m / 'isic2019')
  testing.stand_ins(m / 'isic2019' / isic2019.isic2019_dataset_builder.IMAGES, testing.ids(testing.CSV / gt))
  truth, duplicates = isic2020.isic2020_dataset_builder.GROUND_TRUTH[0], isic2020.isic2020_dataset_builder.DUPLICATES
  testing.copy(truth, m / 'isic2020')
  testing.copy(duplicates, m / 'isic2020')
  testing.stand_ins(m / 'isic2020' / 'train', testing.ids(testing.CSV / truth))
  builder = testing.build(merged, m, tmp_path / 'tfds')

  rows = {s: testing.examples(builder, s) for s in ('train', 'validation')}
  everything = rows['train'] + rows['validation']
  ids = [e['image_id'] for e in everything]
  assert len(ids) == len(set(ids))  # HAM10000's images are in ISIC 2019 too: kept once.
  names = builder.info.features['label'].names
  counts = collections.Counter(names[int(e['label'])] for e in everything)
  # Capped at 2,000; the rare classes keep all they have (ISIC 2019's, which include HAM10000's).
  assert counts == {'nv': 2000, 'mel': 2000, 'bcc': 2000, 'bkl': 2000, 'ak': 867, 'scc': 628, 'vasc': 253, 'df': 239}
  sources = collections.Counter(e['source'] for e in everything)
  assert set(sources) == {b'isic2019', b'isic2020'}  # ISIC 2019 holds all of HAM10000.
  ham = {i.removesuffix('.jpg') for i in testing.ids(testing.HAM / isic2018.PARTS['train'][1])}
  assert all(e['source'] == b'isic2019' for e in everything if e['image_id'].decode() in ham)
  validation = collections.Counter(names[int(e['label'])] for e in rows['validation'])
  for label, n in counts.items():  # Stratified by class.
    assert abs(validation[label] / n - 0.2) < 0.04, label
  for key in ('lesion_id', 'patient_id'):
    sides = [{e[key] for e in r} - {b''} for r in rows.values()]
    assert not sides[0] & sides[1]
