r"""Predicts the classes of image files with a trained run:

  python -m skinjax.predict --workdir=DIR IMAGE... [--age=55 --sex=female --site='posterior torso'] [--top_k=3] [--json]

Images of any size and format PIL reads (upright by their EXIF orientation, greyscale, alpha or
16-bit made RGB) are prepared as evaluation prepares them: `input_pipeline.resize` to the run's
size. A file that cannot be read, is not an image or is too large (a possible decompression
bomb) is reported by name and the others are still predicted; the exit status is then 1. Needs
only the run's directory, not its data.
"""

import json
import sys
from collections.abc import Iterator

import jax
import numpy as np
from absl import app, flags
from etils import epath
from flax import nnx

from skinjax import evaluate, input_pipeline, losses, models
from tfds_builders import common


def load_image(path: str, size: int, mode: str) -> np.ndarray:
  """An image file as the network sees it, or ValueError naming the file and what is wrong."""
  try:
    data = epath.Path(path).read_bytes()
  except OSError as e:
    raise ValueError(f'{path}: cannot be read ({e.strerror or e}).') from None
  return input_pipeline.resize(np.asarray(common.load_image(data, path)), size, mode)


def encode_record(features, age: int | None = None, sex: str | None = None, site: str | None = None) -> np.ndarray:
  """The metadata encoding of what is known of a person (unknown where None)."""
  record = input_pipeline.unknown_record(features)
  if age is not None:
    if not 0 <= age <= common.MAX_AGE:
      raise ValueError(f'age={age}; expected years in 0-{common.MAX_AGE}.')
    record['age'] = age
  for field, value in (('sex', sex), ('site', site)):
    if value is not None:
      names = features[field].names
      if value not in names:
        raise ValueError(f'{field}={value!r}; expected one of {names}.')
      record[field] = names.index(value)
  return input_pipeline.encode_metadata(record, features)


class Predictor:
  """A trained run's network in inference mode, with the run's preprocessing."""

  def __init__(self, workdir: str, checkpoint: str = 'best'):
    run = evaluate.load_run(workdir, checkpoint)
    self.run, self.model = run, run.model()
    self.class_names, self.features = run.info.class_names, run.info.features
    self.fused = run.config.model.fusion != 'none'
    self._probabilities = nnx.jit(self.probability_function)

  def probability_function(self, model: nnx.Module, images, metadata) -> jax.Array:
    """`model`'s class probabilities (traceable: jit, jax2tf)."""
    return losses.probabilities(models.logits(model, images, metadata, self.fused), self.run.config.loss)

  def image(self, path: str) -> np.ndarray:
    return load_image(path, self.run.config.dataset.image_size, self.run.config.dataset.resize)

  def metadata(self, age: int | None = None, sex: str | None = None, site: str | None = None) -> np.ndarray:
    return encode_record(self.features, age, sex, site)

  def probabilities(self, images: np.ndarray, metadata: np.ndarray) -> np.ndarray:
    """Class probabilities [N, K] of prepared uint8 images [N, S, S, 3] with metadata [N, M]."""
    return np.asarray(self._probabilities(self.model, images, metadata))

  def top(self, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The `k` most probable classes of one prediction, most probable first."""
    return [(self.class_names[i], float(probs[i])) for i in np.argsort(-probs, kind='stable')[:k]]


def metadata_from_flags(predictor: Predictor, f) -> np.ndarray:
  """The metadata that --age, --sex and --site give, or a usage error naming the bad one."""
  try:
    return predictor.metadata(f.age, f.sex, f.site)
  except ValueError as e:
    raise app.UsageError(f'--{e}') from None


def readable_images(predictor: Predictor, paths: list[str], failed: list[str]) -> Iterator[tuple[str, np.ndarray]]:
  """(path, prepared image) of each file that can be read; the others are named on stderr and
  added to `failed`."""
  for path in paths:
    try:
      yield path, predictor.image(path)
    except ValueError as e:
      print(e, file=sys.stderr)
      failed.append(path)


def exit_if_failed(failed: list[str], total: int) -> None:
  if failed:
    sys.exit(f'{len(failed)} of {total} files could not be read: {", ".join(failed)}')


def main(argv):
  f = flags.FLAGS
  if len(argv) < 2:
    raise app.UsageError('Name at least one image file.')
  predictor = Predictor(f.workdir, f.checkpoint)
  metadata = metadata_from_flags(predictor, f)
  results, failed = [], []
  for path, image in readable_images(predictor, argv[1:], failed):
    top = predictor.top(predictor.probabilities(image[None], metadata[None])[0], f.top_k)
    results.append({'image': path, 'top': [{'class': c, 'probability': p} for c, p in top]})
    if not f.json:
      print(path)
      for c, p in top:
        print(f'  {c:<24} {p:6.1%}')
  if f.json:
    print(json.dumps(results, indent=2))
  exit_if_failed(failed, len(argv) - 1)


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The trained run.', required=True)
  flags.DEFINE_string('checkpoint', 'best', "'best', 'last' or a step, as for skinjax.evaluate.")
  flags.DEFINE_integer('top_k', 3, 'How many classes to show per image.')
  flags.DEFINE_bool('json', False, 'Print JSON instead of a table.')
  flags.DEFINE_integer('age', None, 'Age in years, for networks that fuse metadata.')
  flags.DEFINE_string('sex', None, "'male' or 'female'.")
  flags.DEFINE_string('site', None, "Anatomical site, on the ISIC archive's vocabulary ('posterior torso', ...).")
  app.run(main)
