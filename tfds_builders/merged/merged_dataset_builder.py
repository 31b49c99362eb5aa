"""merged: ISIC sources combined into ISIC 2019's eight diagnoses, with a per-class cap.

As seed 003 did for its seven-class model: images of several data sets in one label space, at
most `cap_per_class` images of each class (2,000 there; a seeded choice), and a validation split
stratified by class (and grouped by lesion and patient). An image that two sources share (ISIC
2019 contains HAM10000) is kept once, from the first source listed; the log counts those that
the sources label differently. Images whose diagnosis has no class here (most of ISIC 2020's
are 'unknown') are left out; the log counts every removal.
"""

import collections
import dataclasses

import numpy as np
from absl import logging
from etils import epath

from tfds_builders import common
from tfds_builders.isic2018_task3 import isic2018_task3_dataset_builder as isic2018
from tfds_builders.isic2019 import isic2019_dataset_builder as isic2019
from tfds_builders.isic2020 import isic2020_dataset_builder as isic2020

DIAGNOSES = isic2019.DIAGNOSES
# Each source: its reader, the record field that holds its diagnosis (ISIC 2020's `label` is only
# benign / malignant), and that field's values on ISIC 2019's diagnoses. ISIC 2019 comes first:
# it holds HAM10000's images with finer labels (Bowen's disease, an akiec in HAM10000, is scc).
SOURCES = {
  'isic2019': (isic2019.read_records, 'label', {d: d for d in DIAGNOSES}),
  'isic2018_task3': (
    isic2018.read_records,
    'label',
    {'akiec': 'ak'} | {d: d for d in isic2018.DIAGNOSES if d != 'akiec'},
  ),
  'isic2020': (
    isic2020.read_records,
    'diagnosis',
    {
      'melanoma': 'mel',
      'nevus': 'nv',
      'seborrheic keratosis': 'bkl',
      'lentigo NOS': 'bkl',
      'lichenoid keratosis': 'bkl',
      'solar lentigo': 'bkl',
    },
  ),
}


@dataclasses.dataclass(kw_only=True)
class Config(common.Config):
  sources: tuple[str, ...] = tuple(SOURCES)
  cap_per_class: int = 2000  # 0: no cap.


def merge(manual: epath.Path, bad: common.OnBad, sources: tuple[str, ...], cap: int, seed: int) -> list[common.Record]:
  unknown = [s for s in sources if s not in SOURCES]
  if unknown:
    raise ValueError(f'merged: unknown sources {unknown}; expected some of {list(SOURCES)}.')
  pool: dict[str, common.Record] = {}
  for source in sources:
    read, field, labels = SOURCES[source]
    removed = collections.Counter()
    for records in read(manual / source, bad).values():
      for r in records:
        label = labels.get(getattr(r, field))
        if label is None:
          removed['diagnosis outside the label space'] += 1
        elif r.image_id in pool:
          other = pool[r.image_id]
          removed[f'already in {other.source}' + (' with another label' if other.label != label else '')] += 1
        else:
          pool[r.image_id] = dataclasses.replace(r, label=label)
    logging.info('merged: from %s, left out: %s.', source, dict(removed) or 'none')
  rng = np.random.default_rng(seed)
  kept = []
  for label in DIAGNOSES:
    members = [r for r in pool.values() if r.label == label]
    if cap and len(members) > cap:
      logging.info('merged: %s capped from %d to %d images.', label, len(members), cap)
      members = [members[i] for i in sorted(rng.choice(len(members), cap, replace=False))]
    kept += members
  return kept


class Builder(common.ManualBuilder):
  """ISIC 2018 Task 3, 2019 and 2020 images in one label space, capped per class."""

  BUILDER_CONFIGS = [Config(name='default', validation_fraction=0.2, description='Seed 003: cap 2,000, 20% val.')]
  LABELS = DIAGNOSES
  HOMEPAGE = 'https://challenge.isic-archive.com/data/'
  CITATION = 'The ISIC 2018, 2019 and 2020 challenge data sets (see isic2018_task3, isic2019, isic2020).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  One folder per source in the manual directory, each holding what that source's builder
  needs (see tfds_builders/<source>/README.md): isic2018_task3/, isic2019/, isic2020/.
  """

  @property
  def REQUIRED(self) -> tuple[str, ...]:  # noqa: N802 (the name every builder uses)
    return tuple(f'{s}/' for s in self.builder_config.sources)

  def read_records(self, manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
    c = self.builder_config
    return {'train': merge(manual, bad, c.sources, c.cap_per_class, c.seed)}
