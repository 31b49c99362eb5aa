"""Data: TFDS builders read through `tfds.data_source`, batched by grain pipelines.

Training batches come from an infinite, seeded, checkpointable grain iterator over this host's
share of the training split; evaluation batches cover a split exactly once, padded to whole
global batches with `mask == 0` so that every host runs the same number of steps.
"""

import dataclasses
import importlib
import os
from collections.abc import Iterator

import grain
import jax
import ml_collections
import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

# Features that stay on the host: identifiers, not model inputs.
HOST_KEYS = ('image_id',)
# Metadata fields with a vocabulary (age is a number).
METADATA_VOCABULARY = ('sex', 'site')


class DataNotFoundError(FileNotFoundError):
  """A dataset's files are missing; the message says what to download and where to put it."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  class_names: tuple[str, ...]
  train_labels: np.ndarray
  split_sizes: dict[str, int]
  features: tfds.features.FeaturesDict

  @property
  def class_counts(self) -> np.ndarray:
    """Of the training split."""
    return np.bincount(self.train_labels, minlength=self.num_classes)

  @property
  def num_train(self) -> int:
    return len(self.train_labels)

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def to_json(self) -> dict:
    """What predicting needs without the data: class names and counts, the metadata vocabulary."""
    return {
      'class_names': list(self.class_names),
      'class_counts': self.class_counts.tolist(),
      **{field: list(self.features[field].names) for field in METADATA_VOCABULARY},
    }

  @classmethod
  def from_json(cls, saved: dict) -> 'DatasetInfo':
    """The info `to_json` saved; the training labels are their counts' multiset."""
    counts = saved['class_counts']
    features = tfds.features.FeaturesDict(
      {
        'label': tfds.features.ClassLabel(names=saved['class_names']),
        **{field: tfds.features.ClassLabel(names=saved[field]) for field in METADATA_VOCABULARY},
      }
    )
    labels = np.repeat(np.arange(len(counts)), counts)
    return cls(tuple(saved['class_names']), labels, {}, features)


def get_builder(config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
  """The TFDS builder that `config.name` ('name' or 'name/config', as in TFDS) names in
  `tfds_builders/`, prepared (built) if it is not yet."""
  name, _, config_name = config.name.partition('/')
  try:
    module = importlib.import_module(f'tfds_builders.{name}')
  except ModuleNotFoundError as e:
    raise ValueError(f'Unknown dataset {name!r}: there is no tfds_builders/{name}/.') from e
  # Paths as a shell leaves them in `--flag=~/dir` (no tilde expansion there) work as meant.
  data_dir, manual_dir = (os.path.expanduser(d) if d else d for d in (config.data_dir, config.manual_dir))
  builder_kwargs = {'data_dir': data_dir}
  if config_name:
    builder_kwargs['config'] = config_name
  if config.builder_config:  # Builders with configurable fields export `Config.make(**fields)`.
    if not hasattr(module, 'Config'):
      raise ValueError(f'Dataset {config.name!r} has no configurable fields; leave dataset.builder_config empty.')
    builder_kwargs['config'] = module.Config.make(**config.builder_config.to_dict())
  builder = module.Builder(**builder_kwargs)
  if not builder.is_prepared():
    download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    try:
      builder.download_and_prepare(file_format='array_record', download_config=download_config)
    except FileNotFoundError as e:
      raise DataNotFoundError(str(e)) from e
  return builder


def resize(image: np.ndarray, size: int, mode: str) -> np.ndarray:
  """A `size` x `size` image: 'crop' scales the shorter side to `size` and takes the centre;
  'pad' scales the longer side to `size` and pads with black (as outside a dermoscope's field)."""
  h, w = image.shape[:2]
  if (h, w) == (size, size):
    return image
  if mode not in ('crop', 'pad'):
    raise ValueError(f"dataset.resize is {mode!r}; expected 'crop' or 'pad'.")
  scale = size / (min(h, w) if mode == 'crop' else max(h, w))
  nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
  scaled = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
  if mode == 'crop':
    top, left = (nh - size) // 2, (nw - size) // 2
    return scaled[top : top + size, left : left + size]
  out = np.zeros((size, size, 3), np.uint8)
  top, left = (size - nh) // 2, (size - nw) // 2
  out[top : top + nh, left : left + nw] = scaled
  return out


def encode_metadata(example: dict, features) -> np.ndarray:
  """Age / 100 with a missing indicator, one-hot sex and site (each with its unknown slot)."""
  age = float(example['age'])
  sexes, sites = features['sex'].num_classes, features['site'].num_classes
  return np.concatenate(
    [
      [max(age, 0.0) / 100.0, float(age < 0)],
      np.eye(sexes, dtype=np.float32)[int(example['sex'])],
      np.eye(sites, dtype=np.float32)[int(example['site'])],
    ]
  ).astype(np.float32)


def unknown_record(features) -> dict[str, int]:
  """Age, sex and site of a record where all three are unknown."""
  return {'age': -1, 'sex': features['sex'].str2int('unknown'), 'site': features['site'].str2int('unknown')}


def unknown_metadata(features) -> np.ndarray:
  """The encoding of a record whose age, sex and site are all unknown."""
  return encode_metadata(unknown_record(features), features)


def _affine(image: np.ndarray, degrees: float, shift: tuple[float, float], zoom: float) -> np.ndarray:
  """Rotation about the centre, shift (fractions of the side) and zoom in one resampling."""
  size = image.shape[1], image.shape[0]
  c = np.array(size) / 2
  t = -np.radians(degrees)  # Counter-clockwise on screen, as PIL.Image.rotate.
  inverse = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) / zoom  # Output -> input.
  offset = c - inverse @ (c + np.array(shift) * size)
  data = (*inverse[0], offset[0], *inverse[1], offset[1])
  return np.asarray(Image.fromarray(image).transform(size, Image.AFFINE, data, Image.BILINEAR))


def _random_crop(image: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
  """A square of `fraction` of the side at a random place, resized back to the full size."""
  size = image.shape[0]
  side = size * fraction
  top, left = rng.uniform(0, size - side, 2)
  box = (left, top, left + side, top + side)
  return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR, box=box))


def augment(image: np.ndarray, rng: np.random.Generator, a: ml_collections.ConfigDict) -> np.ndarray:
  """The seeds' augmentations, each applied with its probability `p` (config `dataset.augment`):
  random crop (area >= min_area, resized back), rotation (+-degrees), shift (+-fraction of the
  side), zoom (1 +- fraction), horizontal and vertical flips, right-angle rotation (lesions have
  no orientation), and brightness, contrast and saturation (1 +- delta)."""
  if rng.random() < a.crop.p:
    image = _random_crop(image, np.sqrt(rng.uniform(a.crop.min_area, 1.0)), rng)
  degrees = rng.uniform(-a.rotate.degrees, a.rotate.degrees) if rng.random() < a.rotate.p else 0.0
  shift = rng.uniform(-a.shift.fraction, a.shift.fraction, 2) if rng.random() < a.shift.p else (0.0, 0.0)
  zoom = 1.0 + rng.uniform(-a.zoom.fraction, a.zoom.fraction) if rng.random() < a.zoom.p else 1.0
  if degrees or zoom != 1.0 or any(shift):
    image = _affine(image, degrees, tuple(shift), zoom)
  if rng.random() < a.hflip.p:
    image = image[:, ::-1]
  if rng.random() < a.vflip.p:
    image = image[::-1]
  if rng.random() < a.rot90.p:
    image = np.rot90(image, k=rng.integers(1, 4))
  x = image.astype(np.float32)
  if rng.random() < a.saturation.p:
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = grey[..., None] + (x - grey[..., None]) * rng.uniform(1 - a.saturation.delta, 1 + a.saturation.delta)
  if rng.random() < a.contrast.p:
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - a.contrast.delta, 1 + a.contrast.delta) + mean
  if rng.random() < a.brightness.p:
    x = x * rng.uniform(1 - a.brightness.delta, 1 + a.brightness.delta)
  return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def _expand(image: np.ndarray, variant: int, rng: np.random.Generator) -> np.ndarray:
  """Seed 004's extra copies of a rare-class image: variant k is a central crop of 80-95% of the
  side (fixed by the seed and index), mirrored when k is even."""
  image = _random_crop(image, rng.uniform(0.8, 0.95), rng)
  return image[:, ::-1] if variant % 2 == 0 else image


def class_weights(counts: np.ndarray, kind: str, beta: float = 0.999) -> np.ndarray:
  """Loss weights per class: given, as one number per class ('1,3.5'), or computed from the
  training `counts` and scaled so that a batch drawn from the data has mean weight 1: 'none';
  'inverse' frequency; 'effective' number of samples (Cui et al., CVPR 2019),
  (1 - beta) / (1 - beta ** count)."""
  counts = np.asarray(counts, np.float64)
  if kind[:1].isdigit():
    given = np.array(kind.split(','), np.float32)
    if len(given) != len(counts):
      raise ValueError(f'loss.class_weights has {len(given)} values; the data set has {len(counts)} classes.')
    return given
  if kind == 'none':
    weights = np.ones_like(counts)
  elif kind == 'inverse':
    weights = 1.0 / np.maximum(counts, 1)
  elif kind == 'effective':
    weights = (1.0 - beta) / (1.0 - beta ** np.maximum(counts, 1))
  else:
    raise ValueError(f"loss.class_weights is {kind!r}; expected 'none', 'inverse', 'effective' or numbers: '1,3.5'.")
  return (weights * counts.sum() / (weights * counts).sum()).astype(np.float32)


class EpochOrder:
  """Which example (and which of seed 004's expanded copies) each training position reads,
  epoch after epoch: an endless grain source. Entry e reads example e % n, copy e // n.

  sampling: 'uniform' (each example once per epoch); 'oversample' (an epoch of the same length
  drawn with class shares `class_ratios`, equal shares when empty: whole copies of a class, then
  a seeded part); 'balanced_batches' (every batch holds `round(positive_fraction * batch)` of
  the last class, e.g. malignant, as Cancer-Net SCa rebalanced its batches).
  """

  def __init__(self, labels: np.ndarray, config: ml_collections.ConfigDict, class_names, batch_size: int, seed: int):
    self.config, self.batch_size, self.seed = config, batch_size, seed
    self.num_classes = len(class_names)
    unknown = [k for k in config.expand if k not in class_names]
    if unknown:
      raise ValueError(f'dataset.expand names classes {unknown}; the data set has {list(class_names)}.')
    n = len(labels)
    self.base = np.arange(n)
    for name, copies in config.expand.items():  # Copy k of example i is entry k * n + i.
      members = np.flatnonzero(labels == class_names.index(name))
      self.base = np.concatenate([self.base, *(k * n + members for k in range(1, copies + 1))])
    self.base_labels = labels[self.base % n]
    if config.sampling not in ('uniform', 'oversample', 'balanced_batches'):
      raise ValueError(
        f"dataset.sampling is {config.sampling!r}; expected 'uniform', 'oversample' or 'balanced_batches'."
      )
    self._cached = (-1, self.base)

  def __len__(self) -> int:
    return 2**62  # Endless.

  def epoch(self, e: int) -> np.ndarray:
    if self._cached[0] != e:
      self._cached = (e, self._draw(np.random.default_rng([self.seed, e])))
    return self._cached[1]

  def __getitem__(self, i: int) -> int:
    e, j = divmod(i, len(self.base))
    return int(self.epoch(e)[j])

  def _draw(self, rng: np.random.Generator) -> np.ndarray:
    c, total, num_classes = self.config, len(self.base), self.num_classes
    if c.sampling == 'uniform':
      return rng.permutation(self.base)
    groups = [self.base[self.base_labels == k] for k in range(num_classes)]
    if c.sampling == 'oversample':
      ratios = np.asarray(c.class_ratios or [1.0] * num_classes, np.float64)
      if len(ratios) != num_classes:
        raise ValueError(f'dataset.class_ratios has {len(ratios)} values; the data set has {num_classes} classes.')
      wanted = np.round(ratios / ratios.sum() * total).astype(int)
      drawn = [
        np.concatenate([np.repeat(g, w // len(g)), rng.choice(g, w % len(g), replace=False)])
        for g, w in zip(groups, wanted, strict=True)
        if len(g)
      ]
      return np.resize(rng.permutation(np.concatenate(drawn)), total)
    b = self.batch_size
    k = round(c.positive_fraction * b)  # Positives (the last class) in every batch.
    num_batches = -(-total // b)
    negatives = np.resize(rng.permutation(self.base[self.base_labels != num_classes - 1]), num_batches * (b - k))
    positives = np.resize(rng.permutation(groups[-1]), num_batches * k)
    batches = [
      rng.permutation(np.concatenate([negatives[i * (b - k) : (i + 1) * (b - k)], positives[i * k : (i + 1) * k]]))
      for i in range(num_batches)
    ]
    return np.concatenate(batches)[:total]


def train_iterator(
  source, labels: np.ndarray, config: ml_collections.ConfigDict, features, local_batch_size: int, seed: int
) -> grain.DatasetIterator:
  """Endless, shuffled, augmented batches of this host's share of `source` (whose labels are
  `labels`); checkpointable. The same (seed, epoch, position) gives the same example and
  augmentation."""
  shard = grain.sharding.ShardByJaxProcess()
  data = grain.MapDataset.source(source)[shard.shard_index :: shard.shard_count]
  labels = labels[shard.shard_index :: shard.shard_count]
  order = EpochOrder(labels, config, features['label'].names, local_batch_size, seed)
  n = len(data)
  hidden = unknown_metadata(features)

  def load(entry: int, rng: np.random.Generator) -> dict:
    example = _example(data[entry % n], config, features)
    if entry >= n:
      example['image'] = _expand(example['image'], entry // n, np.random.default_rng([seed, entry]))
    example['image'] = augment(example['image'], rng, config.augment)
    if rng.random() < config.metadata_dropout:
      example['metadata'] = hidden
    return example

  ds = grain.MapDataset.source(order).seed(seed).random_map(load).batch(local_batch_size, drop_remainder=True)
  return iter(
    ds.to_iter_dataset(
      grain.ReadOptions(num_threads=config.num_threads, prefetch_buffer_size=max(2, config.num_threads))
    )
  )


def _example(example: dict, config: ml_collections.ConfigDict, features) -> dict:
  """The model's inputs: the image at `config.image_size`, the encoded metadata, the label."""
  return {
    'image': resize(example['image'], config.image_size, config.resize),
    'metadata': encode_metadata(example, features),
    'label': np.int32(example['label']),
    'image_id': example['image_id'],
  }


def eval_batches(source, config: ml_collections.ConfigDict, features, global_batch_size: int) -> Iterator[dict]:
  """Each example of `source` once, as this host's part of padded global batches."""
  local = global_batch_size // jax.process_count()
  for start in range(0, len(source), global_batch_size):
    first = start + jax.process_index() * local
    indices = np.arange(first, first + local)
    valid = indices < len(source)
    examples = [_example(source[int(i)], config, features) for i in indices[valid]]
    padding = {k: np.zeros_like(v) for k, v in examples[0].items()} if len(examples) < local else {}
    examples += [padding] * (local - len(examples))
    batch = {k: np.stack([e[k] for e in examples]) for k in examples[0]}
    batch['mask'] = valid.astype(np.float32)
    yield batch


def records(config: ml_collections.ConfigDict, split: str):
  """The examples of `split` without their images (still encoded): labels, metadata, ids."""
  return get_builder(config).as_data_source(split=split, decoders={'image': tfds.decode.SkipDecoding()})


def get_sources(config: ml_collections.ConfigDict, splits: tuple[str, ...]) -> tuple[DatasetInfo, dict]:
  """Returns (info, {split: data source}) for `config.dataset`; the class counts are those of
  `config.train_split`."""
  builder = get_builder(config)
  unknown = [s for s in {config.train_split, *splits} if s not in builder.info.splits]
  if unknown:
    raise ValueError(f'{builder.info.full_name} has no split {unknown}; it has {sorted(builder.info.splits)}.')
  sources = {s: builder.as_data_source(split=s) for s in splits}
  features = builder.info.features
  info = DatasetInfo(
    class_names=tuple(features['label'].names),
    train_labels=np.array([int(e['label']) for e in records(config, config.train_split)], np.int64),
    split_sizes={s: len(src) for s, src in sources.items()},
    features=features,
  )
  return info, sources


def get_datasets(config: ml_collections.ConfigDict, global_batch_size: int, seed: int):
  """Returns (info, train iterator, {split: data source}) for `config.dataset`."""
  info, sources = get_sources(config, (config.train_split, *config.eval_splits))
  local_batch = global_batch_size // jax.process_count()
  train = train_iterator(sources[config.train_split], info.train_labels, config, info.features, local_batch, seed)
  return info, train, {s: sources[s] for s in config.eval_splits}
