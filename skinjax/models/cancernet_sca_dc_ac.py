"""Cancer-Net SCa-DC-AC (Tai et al., 2023/2024): the Cancer-Net SCa group's successor network.

Written from the published description of its PyTorch `DarwinNetV2` (config
`DarwinNet_XA_325MF.yml`): a ResNet-like network in which every 3x3 convolution has 4 groups,
activations are SiLU, downsampling is average pooling, and in blocks whose shortcut is a
projection the softmax over channels of the block's output gates the shortcut instead of being
added to it ("attention condenser"-like channel selection).

| stage | blocks                  | width (output)  | resolution at 224 |
|-------|-------------------------|-----------------|-------------------|
| stem  | 3x3/2 conv, 3x3 g4 conv, 3x3/2 avg pool | 32 | 56        |
| 1     | 2 basic                 | 40              | 56                |
| 2     | 2 basic                 | 84              | 28                |
| 3     | 3 bottleneck, expansion 2 | 176 (352)     | 14                |
| 4     | 1 bottleneck, expansion 2 | 372 (744)     | 7                 |

With one output (the paper's sigmoid logit) it has 1.632M parameters and 0.319 GMACs at 224x224.
"""

import jax
from flax import nnx

from skinjax.models.layers import Classifier, ConvBN, Normalize
from skinjax.models.registry import register

GROUPS = 4
MEAN = (0.806 * 255, 0.621 * 255, 0.592 * 255)
STD = (0.151 * 255, 0.177 * 255, 0.203 * 255)


def _avg_pool(x: jax.Array, window: int, strides: int) -> jax.Array:
  return nnx.avg_pool(x, (window, window), (strides, strides), padding='SAME', count_include_pad=False)


class Block(nnx.Module):
  """A basic (two grouped 3x3) or bottleneck (1x1, grouped 3x3, 1x1) residual block.

  Downsampling average-pools where a ResNet v1.5 would stride: before the first 3x3 convolution
  (so a bottleneck's first 1x1 runs at the input's resolution) and before the shortcut's 1x1.
  """

  def __init__(self, in_channels: int, width: int, strides: int, *, bottleneck: bool, rngs: nnx.Rngs):
    out = 2 * width if bottleneck else width
    if bottleneck:
      layers = [
        ConvBN(in_channels, width, 1, act=nnx.silu, rngs=rngs),
        ConvBN(width, width, 3, groups=GROUPS, act=nnx.silu, rngs=rngs),
        ConvBN(width, out, 1, act=None, rngs=rngs),
      ]
    else:
      layers = [
        ConvBN(in_channels, width, 3, groups=GROUPS, act=nnx.silu, rngs=rngs),
        ConvBN(width, width, 3, groups=GROUPS, act=None, rngs=rngs),
      ]
    self.layers = nnx.List(layers)
    self.pool_before = 1 if bottleneck else 0  # Index of the first 3x3 convolution.
    self.strides = strides
    self.shortcut = ConvBN(in_channels, out, 1, act=None, rngs=rngs) if strides > 1 or in_channels != out else None

  def __call__(self, x: jax.Array) -> jax.Array:
    y = x
    for i, layer in enumerate(self.layers):
      if i == self.pool_before and self.strides > 1:
        y = _avg_pool(y, self.strides, self.strides)
      y = layer(y)
    if self.shortcut is None:
      return nnx.silu(x + y)
    if self.strides > 1:
      x = _avg_pool(x, self.strides, self.strides)
    return nnx.silu(jax.nn.softmax(y, axis=-1) * self.shortcut(x))


@register('cancernet_sca_dc_ac')
class DarwinNet(Classifier):
  """The DarwinNetV2 backbone with a linear head."""

  STAGES = ((40, 2, False), (84, 2, False), (176, 3, True), (372, 1, True))

  def __init__(self, *, num_classes: int, dropout: float = 0.0, rngs: nnx.Rngs):
    self.normalize = Normalize(MEAN, STD)
    self.stem = nnx.Sequential(
      ConvBN(3, 32, 3, 2, act=nnx.silu, rngs=rngs),
      ConvBN(32, 32, 3, groups=GROUPS, act=nnx.silu, rngs=rngs),
    )
    blocks, channels = [], 32
    for i, (width, depth, bottleneck) in enumerate(self.STAGES):
      for j in range(depth):
        strides = 2 if i > 0 and j == 0 else 1
        blocks.append(Block(channels, width, strides, bottleneck=bottleneck, rngs=rngs))
        channels = 2 * width if bottleneck else width
    self.blocks = nnx.Sequential(*blocks)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = _avg_pool(self.stem(self.normalize(x)), 3, 2)
    return self.blocks(x)
