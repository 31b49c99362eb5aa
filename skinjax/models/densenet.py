"""DenseNet-121 (Huang et al., 2017) as in torchvision, padding included: 7,978,856 parameters with 1000 classes.
Pre-activation layers (batch norm, ReLU, convolution) whose outputs are concatenated."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, Conv, Normalize, TorchConvBN, max_pool_torch
from skinjax.models.registry import register


class BNReLUConv(nnx.Module):
  def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, rngs: nnx.Rngs):
    self.norm = nnx.BatchNorm(in_channels, momentum=0.9, epsilon=1e-5, rngs=rngs)
    self.conv = Conv(
      in_channels,
      out_channels,
      (kernel_size, kernel_size),
      use_bias=False,
      kernel_init=nnx.initializers.he_normal(),
      rngs=rngs,
    )

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.conv(nnx.relu(self.norm(x)))


class DenseBlock(nnx.Module):
  """`num_layers` bottleneck layers (1x1 to 4 x growth, 3x3 to growth), each reading the
  concatenation of the block's input and every earlier layer's output."""

  def __init__(self, in_channels: int, num_layers: int, growth: int, *, rngs: nnx.Rngs):
    self.layers = nnx.List(
      [
        nnx.Sequential(
          BNReLUConv(in_channels + i * growth, 4 * growth, 1, rngs=rngs), BNReLUConv(4 * growth, growth, 3, rngs=rngs)
        )
        for i in range(num_layers)
      ]
    )

  def __call__(self, x: jax.Array) -> jax.Array:
    for layer in self.layers:
      x = jnp.concatenate([x, layer(x)], axis=-1)
    return x


@register('densenet121')
class DenseNet(Classifier):
  def __init__(
    self, *, num_classes: int, blocks=(6, 12, 24, 16), growth: int = 32, dropout: float = 0.0, rngs: nnx.Rngs
  ):
    self.normalize = Normalize()
    self.stem = TorchConvBN(3, 64, 7, 2, rngs=rngs)
    stages, channels = [], 64
    for i, n in enumerate(blocks):
      stages.append(DenseBlock(channels, n, growth, rngs=rngs))
      channels += n * growth
      if i < len(blocks) - 1:  # Transition: halve the channels, then the resolution.
        stages.append(BNReLUConv(channels, channels // 2, 1, rngs=rngs))
        channels //= 2
    self.stages = nnx.List(stages)
    self.norm = nnx.BatchNorm(channels, momentum=0.9, epsilon=1e-5, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = max_pool_torch(self.stem(self.normalize(x)))
    for stage in self.stages:
      x = stage(x)
      if isinstance(stage, BNReLUConv):
        x = nnx.avg_pool(x, (2, 2), (2, 2))
    return nnx.relu(self.norm(x))
