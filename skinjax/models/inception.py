"""The Inception networks, with 1000 classes: GoogLeNet (Szegedy et al., 2015) as in torchvision,
padding included, without its auxiliary classifiers, 6,624,904 parameters; Inception V3
(Szegedy et al., 2016) as in Keras Applications, 23,817,352 trainable (23,851,784 with batch-norm statistics)."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, ConvBN, Normalize, avg_pool_same, max_pool_ceil
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
    stem = ConvBN(3, 64, 7, 2, padding='torch', rngs=rngs)  # Batch norm's epsilon is 1e-3 here.
    self.stem = nnx.List([stem, ConvBN(64, 64, 1, rngs=rngs), ConvBN(64, 192, 3, rngs=rngs)])
    self.inceptions = nnx.List([m if isinstance(m, str) else Inception(*m, rngs=rngs) for m in GOOGLENET])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1024, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = max_pool_ceil(self.stem[0](self.normalize(x)))
    x = max_pool_ceil(self.stem[2](self.stem[1](x)))
    for module in self.inceptions:
      x = max_pool_ceil(x) if module == 'M' else max_pool_ceil(x, 2) if module == 'm' else module(x)
    return x


def _bn(c_in: int, c_out: int, kernel, strides: int = 1, padding: str = 'SAME', *, rngs) -> ConvBN:
  """Keras' `conv2d_bn`: convolution without bias, batch norm without scale, ReLU."""
  return ConvBN(c_in, c_out, kernel, strides, padding=padding, scale=False, rngs=rngs)


class Branches(nnx.Module):
  """Branches applied to the same input, their outputs concatenated; 'avg' and 'max' are 3x3
  poolings (average with stride 1, max with stride 2) before the branch's layers."""

  def __init__(self, branches: list[tuple[str | None, list]]):
    self.pools = tuple(pool for pool, _ in branches)
    self.branches = nnx.List([nnx.Sequential(*layers) if layers else None for _, layers in branches])

  def __call__(self, x: jax.Array) -> jax.Array:
    outs = []
    for pool, branch in zip(self.pools, self.branches, strict=True):
      y = x
      if pool == 'avg':
        y = avg_pool_same(x)
      elif pool == 'max':
        y = nnx.max_pool(x, (3, 3), (2, 2))
      outs.append(y if branch is None else branch(y))
    return jnp.concatenate(outs, axis=-1)


class Split(nnx.Module):
  """1x3 and 3x1 convolutions of the same input, concatenated (Inception V3's last blocks)."""

  def __init__(self, c_in: int, c_out: int, *, rngs):
    self.a, self.b = _bn(c_in, c_out, (1, 3), rngs=rngs), _bn(c_in, c_out, (3, 1), rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return jnp.concatenate([self.a(x), self.b(x)], axis=-1)


@register('inception_v3')
class InceptionV3(Classifier):
  """Inception V3 (Szegedy et al., 2016) as in Keras Applications, made for 299x299 inputs:
  23,817,352 trainable parameters (23,851,784 with batch-norm statistics) with 1000 classes."""

  def __init__(self, *, num_classes: int, dropout: float = 0.0, rngs: nnx.Rngs):
    self.normalize = Normalize((127.5,) * 3, (127.5,) * 3)  # Keras' preprocessing: [-1, 1].
    r = rngs
    layers = [
      _bn(3, 32, 3, 2, 'VALID', rngs=r),
      _bn(32, 32, 3, padding='VALID', rngs=r),
      _bn(32, 64, 3, rngs=r),
      'max',
      _bn(64, 80, 1, padding='VALID', rngs=r),
      _bn(80, 192, 3, padding='VALID', rngs=r),
      'max',
    ]
    c = 192
    for pool in (32, 64, 64):  # mixed0-2: 35x35.
      layers.append(
        Branches(
          [
            (None, [_bn(c, 64, 1, rngs=r)]),
            (None, [_bn(c, 48, 1, rngs=r), _bn(48, 64, 5, rngs=r)]),
            (None, [_bn(c, 64, 1, rngs=r), _bn(64, 96, 3, rngs=r), _bn(96, 96, 3, rngs=r)]),
            ('avg', [_bn(c, pool, 1, rngs=r)]),
          ]
        )
      )
      c = 224 + pool
    layers.append(  # mixed3: to 17x17.
      Branches(
        [
          (None, [_bn(c, 384, 3, 2, 'VALID', rngs=r)]),
          (None, [_bn(c, 64, 1, rngs=r), _bn(64, 96, 3, rngs=r), _bn(96, 96, 3, 2, 'VALID', rngs=r)]),
          ('max', []),
        ]
      )
    )
    c = 768
    for w in (128, 160, 160, 192):  # mixed4-7.
      seven = [_bn(c, w, 1, rngs=r), _bn(w, w, (1, 7), rngs=r), _bn(w, 192, (7, 1), rngs=r)]
      double = [_bn(c, w, 1, rngs=r), _bn(w, w, (7, 1), rngs=r), _bn(w, w, (1, 7), rngs=r)]
      double += [_bn(w, w, (7, 1), rngs=r), _bn(w, 192, (1, 7), rngs=r)]
      layers.append(
        Branches([(None, [_bn(c, 192, 1, rngs=r)]), (None, seven), (None, double), ('avg', [_bn(c, 192, 1, rngs=r)])])
      )
    layers.append(  # mixed8: to 8x8.
      Branches(
        [
          (None, [_bn(c, 192, 1, rngs=r), _bn(192, 320, 3, 2, 'VALID', rngs=r)]),
          (
            None,
            [
              _bn(c, 192, 1, rngs=r),
              _bn(192, 192, (1, 7), rngs=r),
              _bn(192, 192, (7, 1), rngs=r),
              _bn(192, 192, 3, 2, 'VALID', rngs=r),
            ],
          ),
          ('max', []),
        ]
      )
    )
    c = 1280
    for _ in range(2):  # mixed9-10.
      layers.append(
        Branches(
          [
            (None, [_bn(c, 320, 1, rngs=r)]),
            (None, [_bn(c, 384, 1, rngs=r), Split(384, 384, rngs=r)]),
            (None, [_bn(c, 448, 1, rngs=r), _bn(448, 384, 3, rngs=r), Split(384, 384, rngs=r)]),
            ('avg', [_bn(c, 192, 1, rngs=r)]),
          ]
        )
      )
      c = 2048
    self.layers = nnx.List(layers)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(2048, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = self.normalize(x)
    for layer in self.layers:
      x = nnx.max_pool(x, (3, 3), (2, 2)) if layer == 'max' else layer(x)
    return x
