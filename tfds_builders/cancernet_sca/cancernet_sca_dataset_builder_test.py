"""cancernet_sca from the paper's published split lists, with stand-in images."""

import collections

from tfds_builders import cancernet_sca, testing
from tfds_builders.cancernet_sca.cancernet_sca_dataset_builder import IMAGE_DIR, SPLIT_FILES

pytestmark = testing.needs_shared
LISTS = testing.CSV / 'cancernet_sca_split'


def test_reproduces_the_papers_split(tmp_path):
  m = tmp_path / 'manual'
  for name in SPLIT_FILES.values():
    testing.copy(name, m, LISTS)
    testing.stand_ins(m / IMAGE_DIR, [i.removesuffix('.jpg') for i in testing.ids(LISTS / name, header=False)])
  builder = testing.build(cancernet_sca, m, tmp_path / 'tfds')
  sizes = {s: builder.info.splits[s].num_examples for s in SPLIT_FILES}
  assert sizes == {'train': 17327, 'validation': 436, 'test': 442}
  for split, name in SPLIT_FILES.items():
    expected = collections.Counter(
      ('benign', 'malignant')[int(line[-1])] for line in (LISTS / name).read_text().split()
    )
    assert collections.Counter(testing.column(builder, split, 'label')) == expected
