"""GoogLeNet (Szegedy et al., 2015) as in torchvision, without its auxiliary classifiers:
6,624,904 parameters with 1000 classes."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, ConvBN, Normalize, max_pool_ceil
from skinjax.models.registry import register


class Inception(nnx.Module):
  """Four branches concatenated: 1x1; 1x1 then 3x3; 1x1 then 3x3 (torchvision's, where the
  paper has 5x5); 3x3 max pooling then 1x1."""

  def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool: int, *, rngs):
    self.b1 = ConvBN(c_in, c1, 1, rngs=rngs)
    self.b2 = nnx.Sequential(ConvBN(c_in, c3_reduce, 1, rngs=rngs), ConvBN(c3_reduce, c3, 3, rngs=rngs))
    self.b3 = nnx.Sequential(ConvBN(c_in, c5_reduce, 1, rngs=rngs), ConvBN(c5_reduce, c5, 3, rngs=rngs))
    self.b4 = ConvBN(c_in, pool, 1, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    pooled = nnx.max_pool(x, (3, 3), (1, 1), padding='SAME')
    return jnp.concatenate([self.b1(x), self.b2(x), self.b3(x), self.b4(pooled)], axis=-1)


# Inception modules; 'M' is a 3x3 max pooling with stride 2, 'm' a 2x2 one.
GOOGLENET = (
  (192, 64, 96, 128, 16, 32, 32),
  (256, 128, 128, 192, 32, 96, 64),
  'M',
  (480, 192, 96, 208, 16, 48, 64),
  (512, 160, 112, 224, 24, 64, 64),
  (512, 128, 128, 256, 24, 64, 64),
  (512, 112, 144, 288, 32, 64, 64),
  (528, 256, 160, 320, 32, 128, 128),
  'm',
  (832, 256, 160, 320, 32, 128, 128),
  (832, 384, 192, 384, 48, 128, 128),
)


@register('googlenet')
class GoogLeNet(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.2, rngs: nnx.Rngs):
    self.normalize = Normalize()
    self.stem = nnx.List([ConvBN(3, 64, 7, 2, rngs=rngs), ConvBN(64, 64, 1, rngs=rngs), ConvBN(64, 192, 3, rngs=rngs)])
    self.inceptions = nnx.List([m if isinstance(m, str) else Inception(*m, rngs=rngs) for m in GOOGLENET])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1024, num_classes, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """Globally pooled features of uint8 RGB images."""
    x = max_pool_ceil(self.stem[0](self.normalize(x)))
    x = max_pool_ceil(self.stem[2](self.stem[1](x)))
    for module in self.inceptions:
      x = max_pool_ceil(x) if module == 'M' else max_pool_ceil(x, 2) if module == 'm' else module(x)
    return jnp.mean(x, axis=(1, 2))
