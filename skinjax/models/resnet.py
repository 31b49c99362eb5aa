"""ResNets (He et al., 2016) as in torchvision (v1.5: stride in the 3x3 convolution), with 1000
classes: ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50 25,557,032 parameters, and
ResNeXt-50 32x4d (Xie et al., 2017; grouped 3x3 convolutions) 25,028,904. Padding and batch
norm follow torchvision too, so its weights (`weights.torchvision_files`) give its logits."""

import jax
from flax import nnx

from skinjax.models.layers import Classifier, Normalize, TorchConvBN, max_pool_torch
from skinjax.models.registry import register


class Block(nnx.Module):
  """Residual block with a projection shortcut where shapes change: 'basic' (two 3x3, the first
  strided) or 'bottleneck' (1x1 reduce, 3x3 strided, 1x1 expand by 4)."""

  def __init__(
    self,
    in_channels: int,
    planes: int,
    strides: int,
    kind: str,
    groups: int = 1,
    base_width: int = 64,
    *,
    rngs: nnx.Rngs,
  ):
    out, width = EXPANSION[kind] * planes, planes * base_width // 64 * groups
    if kind == 'basic':
      layers = [TorchConvBN(in_channels, width, 3, strides, rngs=rngs), TorchConvBN(width, out, 3, act=None, rngs=rngs)]
    else:
      layers = [
        TorchConvBN(in_channels, width, 1, rngs=rngs),
        TorchConvBN(width, width, 3, strides, groups=groups, rngs=rngs),
        TorchConvBN(width, out, 1, act=None, rngs=rngs),
      ]
    self.layers = nnx.Sequential(*layers)
    needs_projection = strides > 1 or in_channels != out
    self.shortcut = TorchConvBN(in_channels, out, 1, strides, act=None, rngs=rngs) if needs_projection else None

  def __call__(self, x: jax.Array) -> jax.Array:
    shortcut = x if self.shortcut is None else self.shortcut(x)
    return nnx.relu(self.layers(x) + shortcut)


EXPANSION = {'basic': 1, 'bottleneck': 4}


class ResNet(Classifier):
  def __init__(
    self,
    depths: tuple[int, ...],
    kind: str,
    groups: int = 1,
    base_width: int = 64,
    *,
    num_classes: int,
    dropout: float = 0.0,
    rngs: nnx.Rngs,
  ):
    self.normalize = Normalize()
    self.stem = TorchConvBN(3, 64, 7, 2, rngs=rngs)
    blocks, channels = [], 64
    for stage, depth in enumerate(depths):
      planes = 64 * 2**stage
      for i in range(depth):
        blocks.append(Block(channels, planes, 2 if stage > 0 and i == 0 else 1, kind, groups, base_width, rngs=rngs))
        channels = EXPANSION[kind] * planes
    self.blocks = nnx.Sequential(*blocks)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = max_pool_torch(self.stem(self.normalize(x)))
    return self.blocks(x)


@register('resnet18')
def resnet18(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> ResNet:
  return ResNet((2, 2, 2, 2), 'basic', num_classes=num_classes, dropout=dropout, rngs=rngs)


@register('resnet34')
def resnet34(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> ResNet:
  return ResNet((3, 4, 6, 3), 'basic', num_classes=num_classes, dropout=dropout, rngs=rngs)


@register('resnet50')
def resnet50(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> ResNet:
  return ResNet((3, 4, 6, 3), 'bottleneck', num_classes=num_classes, dropout=dropout, rngs=rngs)


@register('resnext50_32x4d')
def resnext50_32x4d(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> ResNet:
  return ResNet((3, 4, 6, 3), 'bottleneck', 32, 4, num_classes=num_classes, dropout=dropout, rngs=rngs)
