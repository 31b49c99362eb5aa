"""Seed 001's "standard CNN" (Kim & Rocheteau 2020, Appendix B), trained from scratch: `num_layers`
blocks of a `kernel_size` convolution with `filters` channels, ReLU and max pooling by
`pool_size`, then global average pooling, dropout and the classifier. The defaults are the
paper's searched values (5 layers, kernel 4, pool 3, 11 filters, dropout 0.4)."""

import jax
from flax import nnx

from skinjax.models.layers import UNIT_MEAN, UNIT_STD, Classifier, Conv, Normalize
from skinjax.models.registry import register


@register('standard_cnn')
class StandardCNN(Classifier):
  def __init__(
    self,
    *,
    num_classes: int,
    num_layers: int = 5,
    kernel_size: int = 4,
    pool_size: int = 3,
    filters: int = 11,
    dropout: float = 0.4,
    rngs: nnx.Rngs,
  ):
    self.normalize = Normalize(UNIT_MEAN, UNIT_STD)
    self.convs = nnx.List(
      [Conv(3 if i == 0 else filters, filters, (kernel_size, kernel_size), rngs=rngs) for i in range(num_layers)]
    )
    self.pool_size = pool_size
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(filters, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = self.normalize(x)
    window = (self.pool_size, self.pool_size)
    for conv in self.convs:
      x = nnx.max_pool(nnx.relu(conv(x)), window, window, padding='SAME')
    return x
