"""Input pipeline throughput: decode + augment + batch at 224x224, grain vs tf.data.

  python benchmarks/input_pipeline.py [--images=1024 --batch=32]

Reads the real HAM10000 JPEGs in ../shared/data/isic2018_task3_subset (224x224). skinjax's
pipeline (PIL decoding, `input_pipeline.resize` and `augment` in a grain dataset) runs with 0
(in the main process), 1 and 2 worker processes; a `tf.data` pipeline does the same work
(decode, flips, right-angle rotations, brightness, contrast, saturation) with AUTOTUNE
parallelism in the same run. A last grain row adds the geometric augmentations (rotation,
shift, zoom, crop) that tf.image has no op for. Prints images/s and the ratio to tf.data.
"""

import pathlib
import time

import grain
import ml_collections
import numpy as np
from absl import app, flags
from PIL import Image

from skinjax import input_pipeline

SUBSET = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'isic2018_task3_subset'
SIZE = 224
WARMUP = 2  # Batches read before the clock starts.
IMAGES = flags.DEFINE_integer('images', 1024, "How many of the subset's JPEGs to read.")
BATCH = flags.DEFINE_integer('batch', 32, 'Batch size.')


def augment_config(geometric: bool) -> ml_collections.ConfigDict:
  on = lambda **kw: dict(p=1.0, **kw)  # noqa: E731
  off = lambda **kw: dict(p=0.0, **kw)  # noqa: E731
  g = on if geometric else off
  return ml_collections.ConfigDict(
    dict(
      crop=g(min_area=0.6),
      rotate=g(degrees=30.0),
      shift=g(fraction=0.1),
      zoom=g(fraction=0.1),
      hflip=dict(p=0.5),
      vflip=dict(p=0.5),
      rot90=dict(p=0.75),
      brightness=on(delta=0.1),
      contrast=on(delta=0.1),
      saturation=on(delta=0.1),
    )
  )


class Load:
  """A picklable map for grain's worker processes."""

  def __init__(self, geometric: bool):
    self.config = augment_config(geometric)

  def __call__(self, path: str, rng: np.random.Generator) -> dict:
    image = np.asarray(Image.open(path).convert('RGB'))
    image = input_pipeline.augment(input_pipeline.resize(image, SIZE, 'crop'), rng, self.config)
    return {'image': image}


def grain_rate(paths: list[str], batch: int, workers: int, geometric: bool = False) -> float:
  ds = grain.MapDataset.source(paths).seed(0).random_map(Load(geometric)).batch(batch, drop_remainder=True)
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=0))
  if workers:
    it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
  return _rate(iter(it), len(paths) // batch, batch)


def tf_rate(paths: list[str], batch: int) -> float:
  import tensorflow as tf

  def load(path):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    image = tf.image.resize_with_crop_or_pad(image, SIZE, SIZE)
    image = tf.image.random_flip_left_right(tf.image.random_flip_up_down(image))
    image = tf.image.rot90(image, k=tf.random.uniform([], 0, 4, tf.int32))
    image = tf.image.random_saturation(tf.cast(image, tf.float32), 0.9, 1.1)
    image = tf.image.random_contrast(image, 0.9, 1.1)
    image = image * tf.random.uniform([], 0.9, 1.1)
    return {'image': tf.cast(tf.clip_by_value(image + 0.5, 0, 255), tf.uint8)}

  ds = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
  return _rate(ds.as_numpy_iterator(), len(paths) // batch, batch)


def _rate(it, num_batches: int, batch: int) -> float:
  for _ in range(WARMUP):
    next(it)
  start = time.perf_counter()
  for _ in range(num_batches - WARMUP):
    assert next(it)['image'].shape == (batch, SIZE, SIZE, 3)
  return (num_batches - WARMUP) * batch / (time.perf_counter() - start)


def main(_):
  batch = BATCH.value
  if not SUBSET.is_dir():
    raise SystemExit(f'Needs the HAM10000 subset at {SUBSET}.')
  paths = sorted(str(p) for p in (SUBSET / 'ISIC2018_Task3_Training_Input').glob('*.jpg'))[: IMAGES.value]
  if len(paths) // batch <= WARMUP:
    raise app.UsageError(
      f'{len(paths)} images make {len(paths) // batch} batches of {batch}; more than {WARMUP} are needed.'
    )
  reference = tf_rate(paths, batch)
  rows = [('tf.data (AUTOTUNE)', reference)]
  rows += [(f'grain, {w} worker processes', grain_rate(paths, batch, w)) for w in (0, 1, 2)]
  rows.append(('grain, 2 workers, + rotate/shift/zoom/crop', grain_rate(paths, batch, 2, geometric=True)))
  print(f'{len(paths)} HAM10000 JPEGs at {SIZE}x{SIZE}, batch {batch}:')
  for name, rate in rows:
    print(f'  {name:45s} {rate:8.1f} images/s   {rate / reference:5.2f}x tf.data')


if __name__ == '__main__':
  app.run(main)
