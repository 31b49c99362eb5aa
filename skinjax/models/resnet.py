"""ResNet-50 (He et al., 2016), v1.5 as in torchvision: 25,557,032 parameters with 1000 classes."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, ConvBN, Normalize
from skinjax.models.registry import register


class Bottleneck(nnx.Module):
  """1x1 reduce, 3x3 (strided, v1.5), 1x1 expand by 4; projection shortcut where shapes change."""

  def __init__(self, in_channels: int, width: int, strides: int, *, rngs: nnx.Rngs):
    out = 4 * width
    self.layers = nnx.Sequential(
      ConvBN(in_channels, width, 1, rngs=rngs),
      ConvBN(width, width, 3, strides, rngs=rngs),
      ConvBN(width, out, 1, act=None, rngs=rngs),
    )
    needs_projection = strides > 1 or in_channels != out
    self.shortcut = ConvBN(in_channels, out, 1, strides, act=None, rngs=rngs) if needs_projection else None

  def __call__(self, x: jax.Array) -> jax.Array:
    shortcut = x if self.shortcut is None else self.shortcut(x)
    return nnx.relu(self.layers(x) + shortcut)


class ResNet(Classifier):
  def __init__(self, depths: tuple[int, ...], *, num_classes: int, dropout: float = 0.0, rngs: nnx.Rngs):
    self.normalize = Normalize()
    self.stem = ConvBN(3, 64, 7, 2, rngs=rngs)
    blocks, channels = [], 64
    for stage, depth in enumerate(depths):
      width = 64 * 2**stage
      for i in range(depth):
        blocks.append(Bottleneck(channels, width, 2 if stage > 0 and i == 0 else 1, rngs=rngs))
        channels = 4 * width
    self.blocks = nnx.Sequential(*blocks)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """Globally pooled features of uint8 RGB images."""
    x = nnx.max_pool(self.stem(self.normalize(x)), (3, 3), (2, 2), padding='SAME')
    return jnp.mean(self.blocks(x), axis=(1, 2))


@register('resnet50')
def resnet50(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> ResNet:
  return ResNet((3, 4, 6, 3), num_classes=num_classes, dropout=dropout, rngs=rngs)
