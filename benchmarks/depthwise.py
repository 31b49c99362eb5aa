"""Depthwise 3x3 convolution, forward + backward: shifted multiply-adds vs XLA's grouped convolution.

  python benchmarks/depthwise.py [--batch=32 --size=56 --channels=144 --repeats=5]

Prints the median time of each formulation (and of PyTorch's depthwise `conv2d`, where torch is
installed) measured in the same run, and the ratio that picks `skinjax.models.layers`' default.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from skinjax.models.layers import depthwise_conv
from skinjax.models.summary import median_seconds


def jax_seconds(shifted: bool, x, kernel, strides: int, repeats: int) -> float:
  loss = lambda x, k: jnp.sum(depthwise_conv(x, k, strides, shifted=shifted) ** 2)
  step = jax.jit(jax.grad(loss, argnums=(0, 1)))
  return median_seconds(lambda: jax.block_until_ready(step(x, kernel)), repeats)


def torch_seconds(x, kernel, strides: int, repeats: int) -> float | None:
  try:
    import torch
  except ImportError:
    return None
  xt = torch.tensor(np.asarray(x)).permute(0, 3, 1, 2).contiguous().requires_grad_()
  kt = torch.tensor(np.asarray(kernel)).permute(2, 0, 1)[:, None].contiguous().requires_grad_()

  def step():
    out = torch.nn.functional.conv2d(xt, kt, stride=strides, padding=1, groups=xt.shape[1])
    (out**2).sum().backward()

  return median_seconds(step, repeats)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=32)
  parser.add_argument('--size', type=int, default=56)
  parser.add_argument('--channels', type=int, default=144)
  parser.add_argument('--repeats', type=int, default=5)
  args = parser.parse_args()
  x = jax.random.normal(jax.random.key(0), (args.batch, args.size, args.size, args.channels))
  kernel = jax.random.normal(jax.random.key(1), (3, 3, args.channels))
  print(
    f'depthwise 3x3, forward + backward, {args.batch}x{args.size}x{args.size}x{args.channels}, '
    f'backend {jax.default_backend()}, {jax.device_count()} device(s)'
  )
  print(f'{"strides":>8}{"grouped conv (s)":>18}{"shifted (s)":>13}{"grouped/shifted":>17}{"PyTorch (s)":>15}')
  for strides in (1, 2):
    grouped = jax_seconds(False, x, kernel, strides, args.repeats)
    shifted = jax_seconds(True, x, kernel, strides, args.repeats)
    torch_time = torch_seconds(x, kernel, strides, args.repeats)
    shown = f'{torch_time:.3f}' if torch_time is not None else 'not installed'
    print(f'{strides:>8}{grouped:>18.3f}{shifted:>13.3f}{grouped / shifted:>17.1f}{shown:>15}')


if __name__ == '__main__':
  main()
