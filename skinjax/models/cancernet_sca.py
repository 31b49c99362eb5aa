"""Cancer-Net SCa-A, -B and -C (Lee, Pavlova, Famouri and Wong, BMC Medical Imaging 2022).

The published networks were found by generative synthesis and are shown only in the paper's
Fig. 2; their exact topologies are not public (the official repository holds TF1 checkpoints,
no model code). These are reconstructions from the paper's description, built from the same
kinds of blocks and sized to Table 1 at 224x224x3 with two classes:

| network | character                                        | Table 1 params / FLOPs |
|---------|--------------------------------------------------|------------------------|
| SCa-A   | PEPE-heavy and wide, the largest                 | 13.65M / 4.66G         |
| SCa-B   | PEPE modules throughout, the fewest parameters   | 0.80M / 0.43G          |
| SCa-C   | visual attention condensers, the fewest FLOPs    | 1.19M / 0.40G          |

FLOPs count a multiply-add as two operations, as Table 1 does (its ResNet-50 row, 7.72G, is
twice ResNet-50's 3.86G multiply-adds). All three mix spatial, depthwise and pointwise
convolutions and carry an early stage's output into a later one through a sparse long-range
connection, as the paper's Fig. 2 shows. Each stage table below reads: one row per layer,
output resolution for a 224x224 input on the right.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models import blocks
from skinjax.models.layers import ConvBN
from skinjax.models.registry import register

# Layer specs: ('conv', out, kernel, strides), ('pepe', project1, expand1, project2, out, strides),
# ('vac', down, embed, up), ('dws', out, strides).
Spec = tuple


class SpecNet(nnx.Module):
  """A feed-forward network given as a list of layer specs, with sparse long-range connections.

  `long_range` holds pairs (i, j): the output of layer i is added to the output of layer j.
  """

  def __init__(
    self,
    specs: Sequence[Spec],
    long_range: Sequence[tuple[int, int]],
    *,
    num_classes: int,
    dropout: float = 0.0,
    in_channels: int = 3,
    rngs: nnx.Rngs,
  ):
    layers, channels, strides = [], [in_channels], [1]
    for kind, *args in specs:
      c = channels[-1]
      if kind == 'conv':
        out, kernel, s = args
        layers.append(ConvBN(c, out, kernel, s, rngs=rngs))
      elif kind == 'pepe':
        *widths, s = args
        layers.append(blocks.PEPE(c, *widths, s, rngs=rngs))
        out = widths[-1]
      elif kind == 'vac':
        layers.append(blocks.VisualAttentionCondenser(c, *args, rngs=rngs))
        out, s = args[-1], 1
      elif kind == 'dws':
        out, s = args
        layers.append(blocks.DepthwiseSeparable(c, out, s, rngs=rngs))
      else:
        raise ValueError(f'Unknown layer kind {kind!r} in spec {(kind, *args)}.')
      channels.append(out)
      strides.append(strides[-1] * s)
    self.layers = nnx.List(layers)
    self.long_range = nnx.Dict(
      {
        str(j): blocks.LongRange(channels[i + 1], channels[j + 1], strides[j + 1] // strides[i + 1], rngs=rngs)
        for i, j in long_range
      }
    )
    self.sources = {j: i for i, j in long_range}
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels[-1], num_classes, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """Globally pooled image features."""
    outputs = []
    for j, layer in enumerate(self.layers):
      x = layer(x)
      if j in self.sources:
        x = self.long_range[str(j)](outputs[self.sources[j]], x)
      outputs.append(x)
    return jnp.mean(x, axis=(1, 2))

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.head(self.dropout(self.features(x)))


# SCa-B: PEPE modules from the second stage on; stem of two spatial convolutions.
SCA_B = (
  ('conv', 24, 3, 2),  # 112
  ('conv', 32, 3, 1),  # 112
  ('pepe', 16, 48, 24, 48, 2),  # 56
  ('pepe', 24, 72, 24, 48, 1),  # 56
  ('pepe', 24, 96, 32, 64, 2),  # 28
  ('pepe', 32, 96, 32, 64, 1),  # 28
  ('pepe', 48, 144, 64, 128, 2),  # 14
  ('pepe', 64, 192, 64, 128, 1),  # 14
  ('pepe', 64, 192, 96, 192, 1),  # 14
  ('pepe', 96, 288, 128, 256, 2),  # 7
  ('pepe', 128, 384, 192, 384, 1),  # 7
  ('conv', 640, 1, 1),  # 7
)
SCA_B_LONG_RANGE = ((3, 8),)


@register('cancernet_sca_b')
def cancernet_sca_b(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> SpecNet:
  return SpecNet(SCA_B, SCA_B_LONG_RANGE, num_classes=num_classes, dropout=dropout, rngs=rngs)
