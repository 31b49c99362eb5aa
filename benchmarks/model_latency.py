"""Inference latency of the Cancer-Net SCa family against MobileNetV2 and ResNet-50, one run.

  python benchmarks/model_latency.py [--image_size=224] [--batch_sizes=1,32] [--repeats=10]

Median wall time of a jitted forward pass in inference mode on the default backend (CPU here, a
GPU where JAX finds one), with each network's latency as a ratio of ResNet-50's.
"""

import argparse

import jax
from flax import nnx

from skinjax import models
from skinjax.models import summary

NETWORKS = ('cancernet_sca_a', 'cancernet_sca_b', 'cancernet_sca_c', 'cancernet_sca_dc_ac', 'mobilenet_v2', 'resnet50')


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--batch_sizes', default='1,32')
  parser.add_argument('--repeats', type=int, default=10)
  args = parser.parse_args()
  batch_sizes = [int(b) for b in args.batch_sizes.split(',')]
  print(f'{args.image_size}x{args.image_size}x3, backend {jax.default_backend()}: {jax.devices()[0].device_kind}')
  times, params = {}, {}
  for name in NETWORKS:
    model = models.build(name, num_classes=2, rngs=nnx.Rngs(0))
    params[name] = summary.num_params(model) / 1e6
    times[name] = [summary.latency_ms(model, args.image_size, b, args.repeats) for b in batch_sizes]
  header = ''.join(f'{f"batch {b} (ms)":>16}{"/ResNet-50":>12}' for b in batch_sizes)
  print(f'{"network":<22}{"params (M)":>12}{header}')
  for name in NETWORKS:
    cells = ''.join(f'{t:>16.1f}{t / r:>12.2f}' for t, r in zip(times[name], times['resnet50'], strict=True))
    print(f'{name:<22}{params[name]:>12.2f}{cells}')


if __name__ == '__main__':
  main()
