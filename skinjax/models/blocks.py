"""Building blocks of the Cancer-Net SCa family and of MobileNet-style networks."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Activation, Conv, ConvBN, DepthwiseConv


class AttentionCondenser(nnx.Module):
  """Attention condenser (Wong et al., TinySpeech, 2020).

  Condense the input by max-pooling, embed it with a depthwise and a pointwise convolution,
  expand the embedding back to the input's size, and attend selectively:
  `V' = V * sigmoid(A) * S + V`, with a learned per-channel scale `S`.
  """

  def __init__(self, channels: int, embed_channels: int, pool: int = 2, *, rngs: nnx.Rngs):
    self.pool = pool
    self.embed_dw = DepthwiseConv(channels, 3, rngs=rngs)
    self.embed_pw = Conv(channels, embed_channels, (1, 1), rngs=rngs)
    self.expand_pw = Conv(embed_channels, channels, (1, 1), rngs=rngs)
    self.scale = nnx.Param(jnp.ones((channels,)))

  def attention(self, v: jax.Array) -> jax.Array:
    """The attention values sigmoid(A), in (0, 1), at the input's resolution."""
    q = nnx.max_pool(v, (self.pool, self.pool), (self.pool, self.pool), padding='SAME')
    k = self.expand_pw(nnx.relu(self.embed_pw(self.embed_dw(q))))
    a = jnp.repeat(jnp.repeat(k, self.pool, axis=1), self.pool, axis=2)  # Nearest-neighbour expansion.
    return nnx.sigmoid(a[:, : v.shape[1], : v.shape[2]])

  def __call__(self, v: jax.Array) -> jax.Array:
    return v * self.attention(v) * self.scale[...] + v


class VisualAttentionCondenser(nnx.Module):
  """Visual attention condenser (Wong et al., AttendNets, 2020).

  Pointwise down-mixing, an attention condenser, pointwise up-mixing; parameterised by the
  triple (down-mixing, embedding, up-mixing) channels that Cancer-Net SCa's Fig. 2 prints.
  """

  def __init__(self, in_channels: int, down: int, embed: int, up: int, *, rngs: nnx.Rngs):
    self.down = ConvBN(in_channels, down, 1, rngs=rngs)
    self.condenser = AttentionCondenser(down, embed, rngs=rngs)
    self.up = ConvBN(down, up, 1, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.up(self.condenser(self.down(x)))


class PEPE(nnx.Module):
  """Projection-expansion-projection-expansion module (Wong et al., AttendNets, 2020).

  A grouped pointwise projection reduces the channels (channel decoupling: each group of input
  channels is processed independently), a depthwise convolution expands them, a pointwise
  projection mixes and reduces them again and a second depthwise convolution expands them to
  the output width. Residual when the shape is unchanged.
  """

  def __init__(
    self,
    in_channels: int,
    project1: int,
    expand1: int,
    project2: int,
    out_channels: int,
    strides: int = 1,
    *,
    groups: int = 2,
    rngs: nnx.Rngs,
  ):
    self.layers = nnx.Sequential(
      ConvBN(in_channels, project1, 1, groups=groups, rngs=rngs),
      ConvBN(project1, expand1, 3, strides, groups=project1, rngs=rngs),
      ConvBN(expand1, project2, 1, act=None, rngs=rngs),
      ConvBN(project2, out_channels, 3, groups=project2, act=None, rngs=rngs),
    )
    self.residual = strides == 1 and in_channels == out_channels

  def __call__(self, x: jax.Array) -> jax.Array:
    y = self.layers(x)
    return nnx.relu(x + y if self.residual else y)


class SqueezeExcite(nnx.Module):
  """Squeeze-and-excitation (Hu et al., 2018): channel gates from globally pooled features."""

  def __init__(self, channels: int, reduced: int, *, act: Activation = nnx.relu, rngs: nnx.Rngs):
    self.reduce = Conv(channels, reduced, (1, 1), rngs=rngs)
    self.expand = Conv(reduced, channels, (1, 1), rngs=rngs)
    self.act = act

  def __call__(self, x: jax.Array) -> jax.Array:
    s = jnp.mean(x, axis=(1, 2), keepdims=True)
    return x * nnx.sigmoid(self.expand(self.act(self.reduce(s))))


class DepthwiseSeparable(nnx.Module):
  """MobileNetV1 block: depthwise 3x3 then pointwise, each with batch norm and `act`."""

  def __init__(
    self, in_channels: int, out_channels: int, strides: int = 1, *, act: Activation = nnx.relu, rngs: nnx.Rngs
  ):
    self.depthwise = ConvBN(in_channels, in_channels, 3, strides, groups=in_channels, act=act, rngs=rngs)
    self.pointwise = ConvBN(in_channels, out_channels, 1, act=act, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.pointwise(self.depthwise(x))


class InvertedResidual(nnx.Module):
  """MobileNetV2 / EfficientNet block: expand, depthwise (`kernel_size`), optional
  squeeze-excite, linear bottleneck, each with `act`; residual when the shape is kept.
  `conv_bn` makes the convolutions (`layers.TorchConvBN` for torchvision's padding)."""

  def __init__(
    self,
    in_channels: int,
    out_channels: int,
    strides: int = 1,
    expand_ratio: int = 6,
    se_ratio: float = 0.0,
    kernel_size: int = 3,
    *,
    act: Activation = nnx.relu6,
    conv_bn: Callable[..., ConvBN] = ConvBN,
    rngs: nnx.Rngs,
  ):
    hidden = in_channels * expand_ratio
    layers = [conv_bn(in_channels, hidden, 1, act=act, rngs=rngs)] if expand_ratio != 1 else []
    layers.append(conv_bn(hidden, hidden, kernel_size, strides, groups=hidden, act=act, rngs=rngs))
    if se_ratio:
      layers.append(SqueezeExcite(hidden, max(1, int(in_channels * se_ratio)), act=act, rngs=rngs))
    layers.append(conv_bn(hidden, out_channels, 1, act=None, rngs=rngs))
    self.layers = nnx.Sequential(*layers)
    self.residual = strides == 1 and in_channels == out_channels

  def __call__(self, x: jax.Array) -> jax.Array:
    y = self.layers(x)
    return x + y if self.residual else y


class LongRange(nnx.Module):
  """A sparse long-range connection: an early feature map, average-pooled to a later stage's
  resolution and projected to its width by a pointwise convolution, added to that stage."""

  def __init__(self, in_channels: int, out_channels: int, pool: int, *, rngs: nnx.Rngs):
    self.pool = pool
    self.project = ConvBN(in_channels, out_channels, 1, act=None, rngs=rngs)

  def __call__(self, early: jax.Array, late: jax.Array) -> jax.Array:
    if self.pool > 1:
      early = nnx.avg_pool(early, (self.pool, self.pool), (self.pool, self.pool), padding='SAME')
    return late + self.project(early)
