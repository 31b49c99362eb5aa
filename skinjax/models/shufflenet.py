"""ShuffleNetV2 x1.0 (Ma et al., 2018) as in torchvision, padding included: 2,278,604 parameters with 1000 classes."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, Normalize, TorchConvBN, max_pool_torch
from skinjax.models.registry import register


def channel_shuffle(x: jax.Array, groups: int = 2) -> jax.Array:
  *rest, c = x.shape
  return x.reshape(*rest, groups, c // groups).swapaxes(-1, -2).reshape(*rest, c)


class ShuffleBlock(nnx.Module):
  """Stride 1: half the channels pass, the other half goes through 1x1, depthwise 3x3, 1x1.
  Stride 2: both halves are computed from the whole input (the left one: depthwise 3x3, 1x1),
  doubling the channels. Then the halves are concatenated and shuffled."""

  def __init__(self, in_channels: int, out_channels: int, strides: int, *, rngs: nnx.Rngs):
    half = out_channels // 2
    self.strides = strides
    if strides > 1:
      self.left = nnx.Sequential(
        TorchConvBN(in_channels, in_channels, 3, strides, groups=in_channels, act=None, rngs=rngs),
        TorchConvBN(in_channels, half, 1, rngs=rngs),
      )
    self.right = nnx.Sequential(
      TorchConvBN(in_channels if strides > 1 else half, half, 1, rngs=rngs),
      TorchConvBN(half, half, 3, strides, groups=half, act=None, rngs=rngs),
      TorchConvBN(half, half, 1, rngs=rngs),
    )

  def __call__(self, x: jax.Array) -> jax.Array:
    if self.strides > 1:
      out = jnp.concatenate([self.left(x), self.right(x)], axis=-1)
    else:
      passed, computed = jnp.split(x, 2, axis=-1)
      out = jnp.concatenate([passed, self.right(computed)], axis=-1)
    return channel_shuffle(out)


@register('shufflenet_v2_x1_0')
class ShuffleNetV2(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.0, rngs: nnx.Rngs):
    self.normalize = Normalize()
    self.stem = TorchConvBN(3, 24, 3, 2, rngs=rngs)
    blocks, channels = [], 24
    for repeats, c in ((4, 116), (8, 232), (4, 464)):
      for i in range(repeats):
        blocks.append(ShuffleBlock(channels, c, 2 if i == 0 else 1, rngs=rngs))
        channels = c
    blocks.append(TorchConvBN(channels, 1024, 1, rngs=rngs))
    self.blocks = nnx.Sequential(*blocks)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1024, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = max_pool_torch(self.stem(self.normalize(x)))
    return self.blocks(x)
