"""Data: TFDS builders read through `tfds.data_source`, batched by grain pipelines.

Training batches come from an infinite, seeded, checkpointable grain iterator over this host's
share of the training split; evaluation batches cover a split exactly once, padded to whole
global batches with `mask == 0` so that every host runs the same number of steps.
"""

import dataclasses
import importlib
from collections.abc import Iterator

import grain
import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

# Features that stay on the host: identifiers, not model inputs.
HOST_KEYS = ('image_id',)


class DataNotFoundError(FileNotFoundError):
  """A dataset's files are missing; the message says what to download and where to put it."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  class_names: tuple[str, ...]
  num_train: int
  split_sizes: dict[str, int]

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def get_builder(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """The TFDS builder that `config.name` ('name' or 'name/config', as in TFDS) names in
  `tfds_builders/`, prepared (built) if it is not yet."""
  name, _, config_name = config.name.partition('/')
  try:
    module = importlib.import_module(f'tfds_builders.{name}')
  except ModuleNotFoundError as e:
    raise ValueError(f'Unknown dataset {name!r}: there is no tfds_builders/{name}/.') from e
  builder_kwargs = {'data_dir': config.data_dir}
  if config_name:
    builder_kwargs['config'] = config_name
  if config.builder_config:  # Builders with configurable fields export `Config.make(**fields)`.
    if not hasattr(module, 'Config'):
      raise ValueError(f'Dataset {config.name!r} has no configurable fields; leave dataset.builder_config empty.')
    builder_kwargs['config'] = module.Config.make(**config.builder_config.to_dict())
  builder = module.Builder(**builder_kwargs)
  if not builder.is_prepared():
    download_config = tfds.download.DownloadConfig(manual_dir=config.manual_dir)
    try:
      builder.download_and_prepare(file_format='array_record', download_config=download_config)
    except FileNotFoundError as e:
      raise DataNotFoundError(str(e)) from e
  return builder


def _decode(example: dict, image_size: int) -> dict:
  """Keeps the model's inputs, resized to `image_size` if the source differs."""
  image = example['image']
  if image.shape[:2] != (image_size, image_size):
    image = np.asarray(Image.fromarray(image).resize((image_size, image_size), Image.BILINEAR))
  return {'image': image, 'label': np.int32(example['label']), 'image_id': example['image_id']}


def _augment(example: dict, rng: np.random.Generator) -> dict:
  """Random flips and right-angle rotations (lesions have no orientation) and +-10% contrast
  and brightness, as Cancer-Net SCa's training did."""
  image = example['image']
  if rng.random() < 0.5:
    image = image[:, ::-1]
  image = np.rot90(image, k=rng.integers(4))
  image = image.astype(np.float32)
  mean = image.mean()
  image = (image - mean) * rng.uniform(0.9, 1.1) + mean * rng.uniform(0.9, 1.1)
  return {**example, 'image': np.clip(image + 0.5, 0, 255).astype(np.uint8)}


def train_iterator(
  source, config: ml_collections.ConfigDict, local_batch_size: int, seed: int
) -> grain.DatasetIterator:
  """Endless, shuffled, augmented batches of this host's share of `source`; checkpointable."""
  ds = grain.MapDataset.source(source)[jax.process_index() :: jax.process_count()]
  ds = ds.seed(seed).shuffle().repeat()  # A new order every epoch.
  ds = ds.map(lambda ex: _decode(ex, config.image_size)).random_map(_augment)
  ds = ds.batch(local_batch_size, drop_remainder=True)
  return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=config.num_threads, prefetch_buffer_size=2)))


def eval_batches(source, config: ml_collections.ConfigDict, global_batch_size: int) -> Iterator[dict]:
  """Each example of `source` once, as this host's part of padded global batches."""
  ds = grain.MapDataset.source(source).map(lambda ex: _decode(ex, config.image_size))
  local = global_batch_size // jax.process_count()
  for start in range(0, len(source), global_batch_size):
    first = start + jax.process_index() * local
    indices = np.arange(first, first + local)
    valid = indices < len(source)
    examples = [ds[int(i)] for i in indices[valid]]
    pad = local - len(examples)
    batch = {
      'image': np.stack([e['image'] for e in examples] + [np.zeros_like(ds[0]['image'])] * pad),
      'label': np.array([e['label'] for e in examples] + [0] * pad, np.int32),
      'image_id': np.array([e['image_id'] for e in examples] + [b''] * pad),
      'mask': valid.astype(np.float32),
    }
    yield batch


def get_datasets(config: ml_collections.ConfigDict, global_batch_size: int, seed: int):
  """Returns (info, train iterator, {split: data source}) for `config.dataset`."""
  builder = get_builder(config)
  splits = (config.train_split, *config.eval_splits)
  unknown = [s for s in splits if s not in builder.info.splits]
  if unknown:
    raise ValueError(f'{builder.info.full_name} has no split {unknown}; it has {sorted(builder.info.splits)}.')
  sources = {s: builder.as_data_source(split=s) for s in splits}
  info = DatasetInfo(
    class_names=tuple(builder.info.features['label'].names),
    num_train=len(sources[config.train_split]),
    split_sizes={s: len(src) for s, src in sources.items()},
  )
  local_batch = global_batch_size // jax.process_count()
  train = train_iterator(sources[config.train_split], config, local_batch, seed)
  return info, train, {s: sources[s] for s in config.eval_splits}
