"""synthetic_lesions: procedurally drawn dermoscopy-like images with HAM10000's classes."""

import dataclasses
import io

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from tfds_builders.synthetic_lesions import draw

_SPLITS = ('train', 'validation', 'test')
_SEX_NAMES = (*draw.SEXES, 'unknown')
_SITE_NAMES = (*draw.SITES, 'unknown')


@dataclasses.dataclass(kw_only=True)
class SyntheticLesionsConfig(tfds.core.BuilderConfig):
  """What to draw: label space, image size, split sizes and seed.

  `labels='binary'` labels melanoma, basal cell carcinoma and actinic keratosis / Bowen's
  disease malignant (1) and the rest benign (0); `labels='seven_class'` keeps HAM10000's seven
  diagnoses. Both draw diagnoses with HAM10000's class frequencies.
  """

  labels: str = 'binary'
  image_size: int = 128
  num_train: int = 8000
  num_validation: int = 1000
  num_test: int = 2000
  seed: int = 0

  def __post_init__(self):
    if self.labels not in ('binary', 'seven_class'):
      raise ValueError(f"labels must be 'binary' or 'seven_class', got {self.labels!r}")
    if self.image_size < 16:
      raise ValueError(f'image_size must be at least 16, got {self.image_size}')

  @classmethod
  def make(cls, **kwargs) -> 'SyntheticLesionsConfig':
    """A config whose name spells out every field, so different ones never share files."""
    c = cls(name='tmp', **kwargs)
    name = f'{c.labels}_{c.image_size}px_{c.num_train}-{c.num_validation}-{c.num_test}_seed{c.seed}'
    return dataclasses.replace(c, name=name)


class Builder(tfds.core.GeneratorBasedBuilder):
  """Dermoscopy-like lesions drawn from seeded random numbers; needs no download."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  BUILDER_CONFIGS = [
    SyntheticLesionsConfig(name='binary', labels='binary'),
    SyntheticLesionsConfig(name='seven_class', labels='seven_class'),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    c = self.builder_config
    names = ('benign', 'malignant') if c.labels == 'binary' else draw.DIAGNOSES
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Image(shape=(c.image_size, c.image_size, 3), encoding_format='jpeg'),
          'label': tfds.features.ClassLabel(names=names),
          'dx': tfds.features.ClassLabel(names=draw.DIAGNOSES),
          'age': tfds.features.Scalar(np.int32, doc='Age in years, -1 when unknown.'),
          'sex': tfds.features.ClassLabel(names=_SEX_NAMES),
          'site': tfds.features.ClassLabel(names=_SITE_NAMES),
          'image_id': tfds.features.Text(),
        }
      ),
      supervised_keys=('image', 'label'),
      homepage='https://github.com/skinjax/skinjax',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {split: self._generate_examples(split) for split in _SPLITS}

  def _generate_examples(self, split: str):
    c = self.builder_config
    n = getattr(c, f'num_{split}')
    split_id = _SPLITS.index(split)
    for i, dx in enumerate(diagnoses(n, seed=(c.seed, split_id))):
      rng = np.random.default_rng((c.seed, split_id, i))
      meta = draw.sample_metadata(rng, dx)
      buffer = io.BytesIO()
      Image.fromarray(draw.draw_lesion(rng, dx, c.image_size)).save(buffer, format='JPEG', quality=92)
      image_id = f'SYN_{split_id}{i:07d}'
      yield (
        image_id,
        {
          'image': buffer.getvalue(),
          'label': int(dx in draw.MALIGNANT) if c.labels == 'binary' else dx,
          'dx': dx,
          'age': meta.age,
          'sex': meta.sex,
          'site': meta.site,
          'image_id': image_id,
        },
      )


def diagnoses(n: int, seed) -> list[str]:
  """`n` diagnoses in HAM10000's proportions (largest remainders), in a seeded random order."""
  p = np.asarray(draw.HAM10000_COUNTS) / sum(draw.HAM10000_COUNTS)
  counts = np.floor(p * n).astype(int)
  counts[np.argsort(-(p * n - counts))[: n - counts.sum()]] += 1
  labels = np.repeat(np.arange(len(p)), counts)
  return [draw.DIAGNOSES[k] for k in np.random.default_rng(seed).permutation(labels)]
