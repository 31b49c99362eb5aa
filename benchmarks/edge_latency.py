"""Batch-1 CPU latency of exported networks: JAX against the TensorFlow Lite interpreter and
onnxruntime, for the Cancer-Net SCa family and MobileNetV2, in one run.

  python benchmarks/edge_latency.py [--image_size=224] [--repeats=20]

Each network (random weights, 2 classes, softmax) is exported by `skinjax.export` as the
`skinjax.export` CLI does; the table gives median wall times and each runtime's ratio to JAX's,
and the largest difference between the runtimes' probabilities.
"""

import argparse
import functools

import jax
import numpy as np
from flax import nnx

from skinjax import export, models
from skinjax.models.summary import median_seconds

NETWORKS = ('cancernet_sca_a', 'cancernet_sca_b', 'cancernet_sca_c', 'mobilenet_v2')


def _softmax(model, images, metadata):
  del metadata
  return jax.nn.softmax(model(images))


_jitted_softmax = nnx.jit(_softmax)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--repeats', type=int, default=20)
  args = parser.parse_args()
  print(f'batch 1, {args.image_size}x{args.image_size}x3, CPU: {jax.devices("cpu")[0].device_kind}')
  print(f'{"network":<18}{"JAX (ms)":>10}{"TFLite (ms)":>13}{"/JAX":>7}{"ONNX (ms)":>11}{"/JAX":>7}{"max |dp|":>10}')
  x = np.random.default_rng(0).uniform(0, 255, (1, args.image_size, args.image_size, 3)).astype(np.float32)
  for name in NETWORKS:
    model = models.build(name, num_classes=2, rngs=nnx.Rngs(0))
    model.eval()
    tflite = export.to_tflite(_softmax, model, args.image_size)
    runtimes = {
      'jax': lambda v, m=model: np.asarray(_jitted_softmax(m, v, None)),
      'tflite': export.load_bytes(tflite, 'tflite'),
      'onnx': export.load_bytes(export.to_onnx(tflite), 'onnx'),
    }
    ms = {k: median_seconds(functools.partial(fn, x), args.repeats) * 1e3 for k, fn in runtimes.items()}
    outputs = [fn(x) for fn in runtimes.values()]
    gap = max(float(np.abs(o - outputs[0]).max()) for o in outputs[1:])
    print(
      f'{name:<18}{ms["jax"]:>10.2f}{ms["tflite"]:>13.2f}{ms["tflite"] / ms["jax"]:>7.2f}'
      f'{ms["onnx"]:>11.2f}{ms["onnx"] / ms["jax"]:>7.2f}{gap:>10.1e}'
    )


if __name__ == '__main__':
  main()
