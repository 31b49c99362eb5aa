r"""Exports a trained run for phones and portable dermoscopes:

  python -m skinjax.export --workdir=DIR --format=tflite|onnx [--checkpoint=best]

writes `DIR/export/model.<format>`: float32 images [1, S, S, 3] in [0, 255], prepared as
`skinjax.predict` prepares them (and metadata [1, M] encoded by `predict.encode_record`, for
networks that fuse it) -> class probabilities [1, K]. Beside it: `model.json` (inputs, size,
resizing, class names, metadata vocabulary) and the run's model card.

TensorFlow Lite comes from `jax2tf` (StableHLO) through TensorFlow's converter; ONNX from that
TensorFlow Lite model through tf2onnx, whose TensorFlow path cannot read jax2tf's XlaCallModule.
"""

import json
import shutil
import tempfile
from collections.abc import Callable

import jax
import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from etils import epath
from flax import nnx
from jax.experimental import jax2tf

from skinjax import evaluate, input_pipeline, predict
from skinjax.models import layers

FORMATS = ('tflite', 'onnx')
ONNX_OPSET = 17


def to_tflite(function: Callable, model: nnx.Module, image_size: int, metadata_size: int = 0) -> bytes:
  """`function(model, images, metadata or None)` as a TensorFlow Lite flat buffer taking images
  [1, S, S, 3] (and metadata [1, M] when `metadata_size`)."""
  graphdef, state = nnx.split(model)
  state = jax.device_get(state)  # Host arrays: sharding annotations would stop the converter.

  def apply(images, *metadata):
    return function(nnx.merge(graphdef, state), images, metadata[0] if metadata else None)

  signature = [tf.TensorSpec((1, image_size, image_size, 3), tf.float32, name='image')]
  if metadata_size:
    signature.append(tf.TensorSpec((1, metadata_size), tf.float32, name='metadata'))
  converted = tf.function(jax2tf.convert(apply, with_gradient=False), autograph=False, input_signature=signature)
  # XLA's own convolutions, which the converter maps to TensorFlow Lite's convolution kernels.
  with layers.cpu_formulations(False):
    concrete = converted.get_concrete_function()
  return tf.lite.TFLiteConverter.from_concrete_functions([concrete], converted).convert()


def to_onnx(tflite: bytes) -> bytes:
  """A TensorFlow Lite model as ONNX."""
  import tf2onnx  # Optional: `pip install 'skinjax[export]'`.

  with tempfile.NamedTemporaryFile(suffix='.tflite') as f:
    f.write(tflite)
    f.flush()
    proto, _ = tf2onnx.convert.from_tflite(f.name, opset=ONNX_OPSET)
  return proto.SerializeToString()


def export(workdir: str, fmt: str, checkpoint: str = 'best') -> epath.Path:
  """Writes the run's network as `fmt` with its description and model card; returns its path."""
  if fmt not in FORMATS:
    raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}.')
  predictor = predict.Predictor(workdir, checkpoint)
  run = predictor.run
  out = run.run_dir / 'export'
  out.mkdir(exist_ok=True)
  size = run.config.dataset.image_size
  inputs = {'image': [1, size, size, 3]}
  if predictor.fused:
    inputs['metadata'] = [1, len(predictor.metadata())]
  tflite = to_tflite(predictor.probability_function, predictor.model, size, inputs.get('metadata', [0, 0])[1])
  path = out / f'model.{fmt}'
  path.write_bytes(tflite if fmt == 'tflite' else to_onnx(tflite))
  description = {
    'format': fmt,
    'checkpoint': f'{run.checkpoint_dir}/{run.step}',
    'inputs': inputs,
    'output': 'probabilities',
    'image_size': size,
    'resize': run.config.dataset.resize,
    'class_names': list(predictor.class_names),
    'metadata': {field: list(predictor.features[field].names) for field in input_pipeline.METADATA_VOCABULARY},
  }
  (out / 'model.json').write_text(json.dumps(description, indent=2))
  card = run.run_dir / 'model_card.md'
  if card.exists():
    shutil.copy(card, out / 'model_card.md')
  else:
    (out / 'model_card.md').write_text(evaluate.model_card(run, None))
  logging.info('Exported %s (%d bytes).', path, path.stat().length)
  return path


def load(path: epath.Path) -> Callable[..., np.ndarray]:
  """An exported model file as a function (images [1, S, S, 3] float32[, metadata [1, M]]) ->
  probabilities, run by the TensorFlow Lite interpreter or onnxruntime."""
  path = epath.Path(path)
  return load_bytes(path.read_bytes(), path.suffix[1:])


def load_bytes(model: bytes, fmt: str) -> Callable[..., np.ndarray]:
  """`load` for a model in memory, 'tflite' or 'onnx'."""
  if fmt == 'onnx':
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=['CPUExecutionProvider'])
    names = [i.name for i in session.get_inputs()]
    return lambda *inputs: session.run(None, dict(zip(names, inputs, strict=True)))[0]
  interpreter = tf.lite.Interpreter(model_content=model)
  interpreter.allocate_tensors()
  inputs = sorted(interpreter.get_input_details(), key=lambda d: 'metadata' in d['name'])  # Image first.
  output = interpreter.get_output_details()[0]['index']

  def run(*arrays):
    for detail, array in zip(inputs, arrays, strict=True):
      interpreter.set_tensor(detail['index'], np.asarray(array, np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(output)

  return run


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  f = flags.FLAGS
  path = export(f.workdir, f.format, f.checkpoint)
  print(f'{path} ({path.stat().length:,} bytes), with model.json and model_card.md')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The trained run.', required=True)
  flags.DEFINE_enum('format', None, list(FORMATS), 'tflite or onnx.', required=True)
  flags.DEFINE_string('checkpoint', 'best', "'best', 'last' or a step, as for skinjax.evaluate.")
  app.run(main)
