"""isic2019 from the real ISIC 2019 training CSVs (25,331 rows), with stand-in images."""

import collections

from tfds_builders import isic2019, testing
from tfds_builders.isic2019.isic2019_dataset_builder import GROUND_TRUTH, IMAGES, METADATA

pytestmark = testing.needs_shared


def test_lesion_split_keeps_lesions_together_and_maps_sites(tmp_path):
  m = tmp_path / 'manual'
  testing.copy(GROUND_TRUTH, m)
  testing.copy(METADATA, m)
  testing.stand_ins(m / IMAGES, testing.ids(testing.CSV / GROUND_TRUTH))
  builder = testing.build(isic2019, m, tmp_path / 'tfds', 'lesion_split')
  splits = ('train', 'validation')
  rows = {s: testing.examples(builder, s) for s in splits}
  assert sum(map(len, rows.values())) == 25331
  labels = builder.info.features['label']
  counts = collections.Counter(labels.int2str(int(e['label'])) for r in rows.values() for e in r)
  assert counts == {'nv': 12875, 'mel': 4522, 'bcc': 3323, 'bkl': 2624, 'ak': 867, 'scc': 628, 'vasc': 253, 'df': 239}
  lesions = {s: {e['lesion_id'] for e in r} - {b''} for s, r in rows.items()}
  assert not lesions['train'] & lesions['validation']
  assert 0.14 < len(rows['validation']) / 25331 < 0.16
  sites = collections.Counter(builder.info.features['site'].int2str(int(e['site'])) for r in rows.values() for e in r)
  assert sites['lateral torso'] == 54 and sites['unknown'] == 2631  # As the metadata says.
