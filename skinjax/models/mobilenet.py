"""Mobile networks, with 1000 classes: MobileNetV1 (Howard et al., 2017) as in Keras Applications,
4,231,976 trainable parameters (4,253,864 with batch-norm statistics); MobileNetV2 (Sandler et
al., 2018) and MnasNet-1.0 (Tan et al., 2019) as in torchvision, 3,504,872 and 4,383,312, which
also pad and normalise as torchvision does, so that its weights give its logits."""

from flax import nnx

from skinjax.models.blocks import DepthwiseSeparable, InvertedResidual
from skinjax.models.layers import Classifier, ConvBN, Normalize, TorchConvBN
from skinjax.models.registry import register

# MobileNetV1's depthwise-separable blocks: (output channels, stride).
V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1))

# (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@register('mobilenet_v2')
class MobileNetV2(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.2, rngs: nnx.Rngs):
    self.normalize = Normalize()
    layers, channels = [TorchConvBN(3, 32, 3, 2, act=nnx.relu6, rngs=rngs)], 32
    for t, c, n, s in SETTINGS:
      for i in range(n):
        stride = s if i == 0 else 1
        layers.append(InvertedResidual(channels, c, stride, expand_ratio=t, conv_bn=TorchConvBN, rngs=rngs))
        channels = c
    layers.append(TorchConvBN(channels, 1280, 1, act=nnx.relu6, rngs=rngs))
    self.layers = nnx.Sequential(*layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1280, num_classes, rngs=rngs)


@register('mobilenet_v1')
class MobileNetV1(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 1e-3, rngs: nnx.Rngs):
    self.normalize = Normalize((127.5,) * 3, (127.5,) * 3)  # Keras' preprocessing: [-1, 1].
    layers, channels = [ConvBN(3, 32, 3, 2, act=nnx.relu6, rngs=rngs)], 32
    for c, s in V1_BLOCKS:
      layers.append(DepthwiseSeparable(channels, c, s, act=nnx.relu6, rngs=rngs))
      channels = c
    self.layers = nnx.Sequential(*layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels, num_classes, rngs=rngs)  # Keras: a 1x1 convolution with bias.


# MnasNet-1.0's stacks: (expansion, kernel size, first stride, output channels, repeats).
MNASNET = ((3, 3, 2, 24, 3), (3, 5, 2, 40, 3), (6, 5, 2, 80, 3), (6, 3, 1, 96, 2), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


@register('mnasnet1_0')
class MnasNet(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.2, rngs: nnx.Rngs):
    self.normalize = Normalize()
    layers = [
      TorchConvBN(3, 32, 3, 2, rngs=rngs),
      TorchConvBN(32, 32, 3, groups=32, rngs=rngs),  # Depthwise.
      TorchConvBN(32, 16, 1, act=None, rngs=rngs),
    ]
    channels = 16
    for t, k, s, c, n in MNASNET:
      for i in range(n):
        stride = s if i == 0 else 1
        layers.append(InvertedResidual(channels, c, stride, t, 0.0, k, act=nnx.relu, conv_bn=TorchConvBN, rngs=rngs))
        channels = c
    layers.append(TorchConvBN(channels, 1280, 1, rngs=rngs))
    self.layers = nnx.Sequential(*layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1280, num_classes, rngs=rngs)
