"""NASNet-A Mobile (Zoph et al., CVPR 2018) as in Keras Applications: 5,289,978 trainable
parameters (5,326,716 with batch-norm statistics) with 1000 classes.

A port of Keras' `NASNetMobile` (4 cells per stage, 1056 penultimate filters, 32 stem filters):
the layers are kept in one dict under Keras' own layer names, so that a Keras file's weights map
onto them name for name (`skinjax.weights.keras_files.by_name`). Zero-padded poolings, the
shifted second path of the reduction adjustment and Keras' 'same' average pooling (which does
not count the padding) are reproduced.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, Conv, DepthwiseConv, Normalize, avg_pool_same
from skinjax.models.registry import register


class SeparableConv(nnx.Module):
  """Keras' SeparableConv2D without bias: depthwise k x k ('SAME'), then pointwise 1x1."""

  def __init__(self, c_in: int, c_out: int, k: int, strides: int, *, rngs: nnx.Rngs):
    self.depthwise = DepthwiseConv(c_in, k, strides, rngs=rngs)
    self.pointwise = Conv(c_in, c_out, (1, 1), use_bias=False, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.pointwise(self.depthwise(x))


def _pad_for_stride_2(x: jax.Array) -> jax.Array:
  """Keras' `correct_pad` zero padding before a 3x3, stride-2 'valid' pooling."""
  pads = [(size % 2, 1) for size in x.shape[1:3]]
  return jnp.pad(x, ((0, 0), *pads, (0, 0)))


class NASNetMobile(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.0, rngs: nnx.Rngs):
    self.normalize = Normalize((127.5,) * 3, (127.5,) * 3)  # Keras' preprocessing: [-1, 1].
    self.rngs, self.layers, self.cells = rngs, nnx.Dict(), []
    self._conv('stem_conv1', 3, 32, 3, 2)
    self._bn('stem_bn1', 32)
    x, p = (32, 0), None  # (channels, times halved) of the two inputs of each cell.
    stages = [(11, 'stem_1', True), (22, 'stem_2', True)]
    for stage, filters in enumerate((44, 88, 176)):
      if stage:
        stages.append((filters, f'reduce_{4 * stage}', True))
      stages += [(filters, str(4 * stage + i + (1 if stage else 0)), False) for i in range(4)]
    for filters, block, reduction in stages:
      x, p = self._cell(x, p, filters, block, reduction), x
    del self.rngs
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(1056, num_classes, rngs=rngs)

  # Construction: each helper adds layers under their Keras names.
  def _conv(self, name, c_in, c_out, k=1, strides=1):
    padding = 'VALID' if name == 'stem_conv1' else 'SAME'
    self.layers[name] = Conv(c_in, c_out, (k, k), strides, padding=padding, use_bias=False, rngs=self.rngs)

  def _bn(self, name, channels):
    self.layers[name] = nnx.BatchNorm(channels, epsilon=1e-3, momentum=0.9997, rngs=self.rngs)

  def _separable(self, block, c_in, filters, k, strides=1):
    for i, c in ((1, c_in), (2, filters)):
      self.layers[f'separable_conv_{i}_{block}'] = SeparableConv(
        c, filters, k, strides if i == 1 else 1, rngs=self.rngs
      )
      self._bn(f'separable_conv_{i}_bn_{block}', filters)
    return (block, strides)

  def _cell(self, x, p, filters, block, reduction):
    """Adds one cell's layers; returns its output's (channels, times halved)."""
    adjust = None
    if p is not None and p[1] != x[1]:
      adjust = 'reduction'
      self._conv(f'adjust_conv_1_{block}', p[0], filters // 2)
      self._conv(f'adjust_conv_2_{block}', p[0], filters // 2)
      self._bn(f'adjust_bn_{block}', filters // 2 * 2)
    elif p is not None and p[0] != filters:
      adjust = 'projection'
      self._conv(f'adjust_conv_projection_{block}', p[0], filters)
      self._bn(f'adjust_bn_{block}', filters)
    p_channels = x[0] if p is None else (filters // 2 * 2 if adjust == 'reduction' else filters if adjust else p[0])
    kind = 'reduction' if reduction else 'normal'
    self._conv(f'{kind}_conv_1_{block}', x[0], filters)
    self._bn(f'{kind}_bn_1_{block}', filters)
    if reduction:
      seps = [
        self._separable(f'reduction_left1_{block}', filters, filters, 5, 2),
        self._separable(f'reduction_right1_{block}', p_channels, filters, 7, 2),
        self._separable(f'reduction_right2_{block}', p_channels, filters, 7, 2),
        self._separable(f'reduction_right3_{block}', p_channels, filters, 5, 2),
        self._separable(f'reduction_left4_{block}', filters, filters, 3),
      ]
    else:
      seps = [
        self._separable(f'normal_left1_{block}', filters, filters, 5),
        self._separable(f'normal_right1_{block}', p_channels, filters, 3),
        self._separable(f'normal_left2_{block}', p_channels, filters, 5),
        self._separable(f'normal_right2_{block}', p_channels, filters, 3),
        self._separable(f'normal_left5_{block}', filters, filters, 3),
      ]
    self.cells.append((block, reduction, adjust, tuple(s[0] for s in seps)))
    return (4 if reduction else 6) * filters, x[1] + (1 if reduction else 0)

  # The forward pass.
  def _sep(self, block, x):
    x = self.layers[f'separable_conv_1_bn_{block}'](self.layers[f'separable_conv_1_{block}'](nnx.relu(x)))
    return self.layers[f'separable_conv_2_bn_{block}'](self.layers[f'separable_conv_2_{block}'](nnx.relu(x)))

  def _adjust(self, block, adjust, x, p):
    if p is None:
      return x
    if adjust == 'reduction':
      p = nnx.relu(p)
      p1 = self.layers[f'adjust_conv_1_{block}'](p[:, ::2, ::2])
      shifted = jnp.pad(p, ((0, 0), (0, 1), (0, 1), (0, 0)))[:, 1:, 1:]
      p2 = self.layers[f'adjust_conv_2_{block}'](shifted[:, ::2, ::2])
      return self.layers[f'adjust_bn_{block}'](jnp.concatenate([p1, p2], axis=-1))
    if adjust == 'projection':
      return self.layers[f'adjust_bn_{block}'](self.layers[f'adjust_conv_projection_{block}'](nnx.relu(p)))
    return p

  def feature_map(self, images: jax.Array) -> jax.Array:
    x = self.layers['stem_bn1'](self.layers['stem_conv1'](self.normalize(images)))
    p = None
    for block, reduction, adjust, (s1, s2, s3, s4, s5) in self.cells:
      kind = 'reduction' if reduction else 'normal'
      q = self._adjust(block, adjust, x, p)
      h = self.layers[f'{kind}_bn_1_{block}'](self.layers[f'{kind}_conv_1_{block}'](nnx.relu(x)))
      if reduction:
        h3 = _pad_for_stride_2(h)
        x1 = self._sep(s1, h) + self._sep(s2, q)
        x2 = nnx.max_pool(h3, (3, 3), (2, 2)) + self._sep(s3, q)
        x3 = nnx.avg_pool(h3, (3, 3), (2, 2)) + self._sep(s4, q)
        x4 = x2 + avg_pool_same(x1)
        x5 = self._sep(s5, x1) + nnx.max_pool(h3, (3, 3), (2, 2))
        out = jnp.concatenate([x2, x3, x4, x5], axis=-1)
      else:
        x1 = self._sep(s1, h) + self._sep(s2, q)
        x2 = self._sep(s3, q) + self._sep(s4, q)
        x3 = avg_pool_same(h) + q
        x4 = avg_pool_same(q) + avg_pool_same(q)
        x5 = self._sep(s5, h) + h
        out = jnp.concatenate([q, x1, x2, x3, x4, x5], axis=-1)
      x, p = out, x
    return nnx.relu(x)


register('nasnet_mobile')(NASNetMobile)
