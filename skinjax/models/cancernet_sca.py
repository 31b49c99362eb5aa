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
twice ResNet-50's 3.86G multiply-adds), so the targets are 2.33, 0.215 and 0.20 GMACs; the
reconstructions have 13.75M / 2.34 GMACs, 0.80M / 0.213 GMACs and 1.19M / 0.201 GMACs
(`python -m skinjax.models.summary`). All three mix spatial, depthwise and pointwise
convolutions and carry an early stage's output into a later one through a sparse long-range
connection, as the paper's Fig. 2 shows. The tables below list one layer per row, with its
index and output resolution for a 224x224 input.
"""

from collections.abc import Sequence

import jax
from flax import nnx

from skinjax.models import blocks
from skinjax.models.layers import UNIT_MEAN, UNIT_STD, Classifier, ConvBN, Normalize
from skinjax.models.registry import register

# Layer specs: ('conv', out, kernel, strides), ('pepe', project1, expand1, project2, out, strides),
# ('vac', down, embed, up), ('dws', out, strides).
Spec = tuple


class SpecNet(Classifier):
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
    self.normalize = Normalize(UNIT_MEAN, UNIT_STD)  # [0, 1], as the paper's models.
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(channels[-1], num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x, outputs = self.normalize(x), []
    for j, layer in enumerate(self.layers):
      x = layer(x)
      if j in self.sources:
        x = self.long_range[str(j)](outputs[self.sources[j]], x)
      outputs.append(x)
    return x


# SCa-A: the largest. PEPE modules interleaved with dense 3x3 convolutions at every resolution,
# wide late stages, and a long-range connection from the 56x56 stage into the 14x14 one.
SCA_A = (
  ('conv', 32, 3, 2),  # 0: 112
  ('conv', 48, 3, 1),  # 1: 112
  ('pepe', 48, 144, 64, 128, 2),  # 2: 56
  ('conv', 96, 3, 1),  # 3: 56
  ('pepe', 64, 192, 96, 192, 1),  # 4: 56
  ('pepe', 96, 288, 128, 256, 2),  # 5: 28
  ('conv', 192, 3, 1),  # 6: 28
  ('pepe', 128, 384, 192, 384, 1),  # 7: 28
  ('pepe', 192, 576, 256, 512, 2),  # 8: 14
  ('conv', 512, 3, 1),  # 9: 14
  ('pepe', 256, 768, 384, 768, 1),  # 10: 14
  ('pepe', 384, 768, 384, 768, 1),  # 11: 14
  ('pepe', 384, 1152, 512, 1024, 2),  # 12: 7
  ('pepe', 512, 1536, 768, 1536, 1),  # 13: 7
  ('pepe', 768, 2304, 1024, 2048, 1),  # 14: 7
  ('conv', 2048, 1, 1),  # 15: 7
)
SCA_A_LONG_RANGE = ((4, 10),)

# SCa-B: the fewest parameters. Two spatial convolutions, then PEPE modules only, narrow until
# the last stage; a long-range connection from the 56x56 stage into the 14x14 one.
SCA_B = (
  ('conv', 24, 3, 2),  # 0: 112
  ('conv', 40, 3, 1),  # 1: 112
  ('pepe', 16, 48, 24, 48, 2),  # 2: 56
  ('pepe', 24, 72, 24, 48, 1),  # 3: 56
  ('pepe', 24, 96, 48, 96, 2),  # 4: 28
  ('pepe', 48, 144, 48, 96, 1),  # 5: 28
  ('pepe', 64, 192, 96, 192, 2),  # 6: 14
  ('pepe', 96, 288, 96, 192, 1),  # 7: 14
  ('pepe', 96, 288, 128, 256, 1),  # 8: 14
  ('pepe', 128, 384, 192, 384, 2),  # 9: 7
  ('pepe', 192, 576, 256, 512, 1),  # 10: 7
  ('conv', 640, 1, 1),  # 11: 7
)
SCA_B_LONG_RANGE = ((3, 8),)

# SCa-C: the fewest FLOPs. Depthwise-separable convolutions alternating with visual attention
# condensers (down-mixing, embedding, up-mixing channels), a long-range connection from 28x28
# into 14x14.
SCA_C = (
  ('conv', 16, 3, 2),  # 0: 112
  ('conv', 40, 3, 1),  # 1: 112
  ('dws', 48, 2),  # 2: 56
  ('vac', 24, 12, 64),  # 3: 56
  ('dws', 96, 2),  # 4: 28
  ('vac', 48, 24, 96),  # 5: 28
  ('dws', 128, 1),  # 6: 28
  ('dws', 192, 2),  # 7: 14
  ('vac', 96, 48, 192),  # 8: 14
  ('dws', 256, 1),  # 9: 14
  ('vac', 128, 64, 256),  # 10: 14
  ('dws', 384, 2),  # 11: 7
  ('vac', 192, 96, 512),  # 12: 7
  ('conv', 1152, 1, 1),  # 13: 7
)
SCA_C_LONG_RANGE = ((4, 10),)


def _register(name: str, specs: tuple[Spec, ...], long_range: tuple[tuple[int, int], ...]) -> None:
  @register(name)
  def build(*, num_classes: int, rngs: nnx.Rngs, dropout: float = 0.0) -> SpecNet:
    return SpecNet(specs, long_range, num_classes=num_classes, dropout=dropout, rngs=rngs)


_register('cancernet_sca_a', SCA_A, SCA_A_LONG_RANGE)
_register('cancernet_sca_b', SCA_B, SCA_B_LONG_RANGE)
_register('cancernet_sca_c', SCA_C, SCA_C_LONG_RANGE)
