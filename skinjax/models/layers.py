"""Convolution layers shared by every network: depthwise convolution and conv-BN-activation."""

import contextlib
import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

Activation = Callable[[jax.Array], jax.Array]

# ImageNet's channel statistics, in [0, 255]: the default input normalisation.
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
# [0, 1] inputs, as networks trained from scratch (Cancer-Net SCa) take them.
UNIT_MEAN, UNIT_STD = (0.0, 0.0, 0.0), (255.0, 255.0, 255.0)


class Normalize(nnx.Module):
  """Maps uint8 RGB images in [0, 255] to float inputs with the given channel statistics, in
  `dtype`, the network's compute dtype (`train.Trainer` sets it, and every Flax layer's)."""

  def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
    self.mean, self.std, self.dtype = tuple(mean), tuple(std), jnp.float32

  def __call__(self, images: jax.Array) -> jax.Array:
    return ((images.astype(jnp.float32) - jnp.array(self.mean)) / jnp.array(self.std)).astype(self.dtype)


class Classifier(nnx.Module):
  """A network that classifies pooled image features. Subclasses set `self.dropout` and
  `self.head`, and either `self.normalize` and `self.layers` or their own `feature_map` (uint8
  images -> the last activations, [batch, height, width, channels]). Grad-CAM differentiates
  `classify` with respect to the feature map."""

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.classify(self.feature_map(x))

  def feature_map(self, x: jax.Array) -> jax.Array:
    return self.layers(self.normalize(x))

  def pool(self, feature_map: jax.Array) -> jax.Array:
    """[batch, channels] features: the global average."""
    return jnp.mean(feature_map, axis=(1, 2))

  def features(self, x: jax.Array) -> jax.Array:
    """Pooled features of uint8 RGB images."""
    return self.pool(self.feature_map(x))

  def classify(self, feature_map: jax.Array) -> jax.Array:
    """Logits from the feature map."""
    return self.head(self.dropout(self.pool(feature_map)))


# Whether convolutions take their CPU formulations: None picks by backend (see `cpu_formulations`).
_CPU_FORMULATIONS: list[bool | None] = [None]


@contextlib.contextmanager
def cpu_formulations(enabled: bool | None):
  """Within the context, convolutions use the formulations written for XLA's CPU backend (True),
  XLA's own convolutions (False) or whichever is faster on the default backend (None): see
  `conv_general_dilated` and `depthwise_conv`. For benchmarks, counting and export. It applies
  to what is traced within it: a jitted function already traced keeps the formulation it had."""
  _CPU_FORMULATIONS.append(enabled)
  try:
    yield
  finally:
    _CPU_FORMULATIONS.pop()


def _cpu_formulation(enabled: bool | None) -> bool:
  enabled = _CPU_FORMULATIONS[-1] if enabled is None else enabled
  return jax.default_backend() == 'cpu' if enabled is None else enabled


_NHWC = ('NHWC', 'HWIO', 'NHWC')
# Output positions up to which a convolution on CPU is a sum of per-tap matrix products (at 7x7
# XLA's convolution is as fast; at 14x14 and above, faster).
SMALL_OUTPUT = 16


def _output_size(x_shape, kernel_shape, strides, pads) -> tuple[int, int]:
  return tuple(
    (n + lo + hi - k) // s + 1 for n, k, s, (lo, hi) in zip(x_shape[1:3], kernel_shape[:2], strides, pads, strict=True)
  )


def _taps(x: jax.Array, window: tuple[int, int], strides: tuple[int, int], pads: tuple) -> list[jax.Array]:
  """The input under each kernel tap, row by row: what that tap multiplies at every output."""
  (rows, cols), (sh, sw) = window, strides
  out_h, out_w = _output_size(x.shape, window, strides, pads)
  x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  ends = lambda i, j: (x.shape[0], i + (out_h - 1) * sh + 1, j + (out_w - 1) * sw + 1, x.shape[3])
  return [jax.lax.slice(x, (0, i, j, 0), ends(i, j), (1, sh, sw, 1)) for i in range(rows) for j in range(cols)]


def _map_taps(fn: Callable[[jax.Array], jax.Array], x: jax.Array, window, strides, pads) -> jax.Array:
  """`fn` of the input under each kernel tap (as `_taps`), stacked, computed one tap at a time: in
  a loop XLA keeps one shifted copy of `x` at a time, where k * k of them side by side cost k * k
  times the memory and, on CPU, more time (EfficientNet-B0's training step at 224x224: 10 GB and
  5.4 images/s before, 5.9 GB and 9.4 images/s after; `benchmarks/train_throughput.py`)."""
  (sh, sw), cols = strides, window[1]
  out_h, out_w = _output_size(x.shape, window, strides, pads)
  x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  size = (x.shape[0], (out_h - 1) * sh + 1, (out_w - 1) * sw + 1, x.shape[3])
  shifted = lambda tap: jax.lax.dynamic_slice(x, (0, tap // cols, tap % cols, 0), size)[:, ::sh, ::sw]
  return jax.lax.map(lambda tap: fn(shifted(tap)), jnp.arange(window[0] * cols))


def _dense_conv(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], pads: tuple) -> jax.Array:
  """A dense NHWC convolution: a matrix product where the kernel is 1x1 and unpadded, else XLA's."""
  if kernel.shape[:2] == (1, 1) and pads == ((0, 0), (0, 0)):
    return jnp.einsum('nhwc,co->nhwo', x[:, :: strides[0], :: strides[1]], kernel[0, 0])
  return jax.lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=_NHWC)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_row_grad(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], pads: tuple) -> jax.Array:
  """`_dense_conv`, whose kernel gradient is a sum of matrix products, one per output row and
  kernel tap, summed in a loop over the rows."""
  return _dense_conv(x, kernel, strides, pads)


def _conv_row_grad_fwd(x, kernel, strides, pads):
  return _conv_row_grad(x, kernel, strides, pads), (x, kernel)


def _conv_row_grad_bwd(strides, pads, residuals, grad):
  x, kernel = residuals
  _, input_vjp = jax.vjp(lambda x: _dense_conv(x, kernel, strides, pads), x)
  (x_grad,) = input_vjp(grad)
  (rows, cols, channels, features), (sh, sw), out_w = kernel.shape, strides, grad.shape[2]
  x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  # The products contract the (possibly sharded) batch: their sharding is the kernel's.
  sharding = jax.typeof(kernel).sharding
  sharding = sharding.update(spec=sharding.spec[2:])
  matmul = functools.partial(jnp.matmul, preferred_element_type=jnp.float32, out_sharding=sharding)

  def add_row(r, total):
    band = jax.lax.dynamic_slice_in_dim(x, r * sh, rows, axis=1)
    g = jax.lax.dynamic_index_in_dim(grad, r, axis=1, keepdims=False).reshape(-1, features)
    taps = [
      band[:, i, j : j + (out_w - 1) * sw + 1 : sw].reshape(-1, channels) for i in range(rows) for j in range(cols)
    ]
    return total + jnp.stack([matmul(tap.T, g) for tap in taps])

  zeros = jnp.zeros(
    (rows * cols, channels, features), jnp.float32, out_sharding=sharding.update(spec=(None, *sharding.spec))
  )
  products = jax.lax.fori_loop(0, grad.shape[1], add_row, zeros)
  return x_grad, products.reshape(kernel.shape).astype(kernel.dtype)


_conv_row_grad.defvjp(_conv_row_grad_fwd, _conv_row_grad_bwd)


def conv_general_dilated(x: jax.Array, kernel: jax.Array, window_strides, padding, **kwargs) -> jax.Array:
  """`jax.lax.conv_general_dilated` for `nnx.Conv` (see `Conv`), faster to train on CPU.

  XLA's CPU backend computes a convolution's kernel gradient several times slower than the
  convolution itself (15x for a 1x1 convolution at 56x56, 64 -> 256 channels; 2.4x for a 3x3 one
  at 56x56, 64 -> 64: `benchmarks/train_throughput.py`). On CPU a dense NHWC convolution is
  therefore a matrix product where its kernel is 1x1, and otherwise XLA's convolution; either way
  its kernel gradient is written as matrix products, one per output row and kernel tap, summed in
  a loop (`_conv_row_grad`). Where the output has at most SMALL_OUTPUT positions (a 3x3
  convolution at 2x2, 256 -> 256 channels, batch 128: XLA 100 ms, these 4 ms forward; ResNet-18
  on 28x28 images ends at 1x1), the whole convolution is the sum of per-tap matrix products,
  differentiated as such. Grouped or dilated convolutions, and every convolution on GPU and TPU,
  are XLA's.
  """
  plain = all(kwargs.get(k) in (None, (1, 1)) for k in ('lhs_dilation', 'rhs_dilation', 'preferred_element_type'))
  if not (plain and x.ndim == 4 and kwargs.get('feature_group_count', 1) == 1 and _cpu_formulation(None)):
    return jax.lax.conv_general_dilated(x, kernel, window_strides, padding, **kwargs)
  strides = tuple(window_strides)
  if isinstance(padding, str):
    pads = tuple(jax.lax.padtype_to_pads(x.shape[1:3], kernel.shape[:2], strides, padding))
  else:
    pads = tuple(tuple(p) for p in padding)
  if math.prod(_output_size(x.shape, kernel.shape, strides, pads)) <= SMALL_OUTPUT:
    products = zip(_taps(x, kernel.shape[:2], strides, pads), kernel.reshape(-1, *kernel.shape[2:]), strict=True)
    return sum(jnp.einsum('nhwc,co->nhwo', tap, k, precision=kwargs.get('precision')) for tap, k in products)
  return _conv_row_grad(x, kernel, strides, pads)


# The convolution layer of every network: `nnx.Conv` (NHWC) with `conv_general_dilated`.
Conv = functools.partial(nnx.Conv, conv_general_dilated=conv_general_dilated)


def depthwise_conv(
  x: jax.Array, kernel: jax.Array, strides: int, *, padding: str = 'SAME', shifted: bool | None = None
) -> jax.Array:
  """Depthwise convolution of NHWC `x` with an [k, k, C * multiplier] kernel, padded 'SAME' or
  'torch' (k // 2 on every side).

  On CPU, XLA's grouped convolution (`feature_group_count=C`) is several times slower than the
  same convolution written as k * k shifted multiply-adds, forward and backward; on GPU and TPU
  the grouped convolution is the fast one. `shifted=None` follows `cpu_formulations`.
  """
  k, _, out_channels = kernel.shape
  multiplier = out_channels // x.shape[-1]
  shifted = _cpu_formulation(shifted)
  pads = padding if padding == 'SAME' else [(k // 2, k // 2)] * 2
  if not shifted:
    return jax.lax.conv_general_dilated(
      x,
      kernel[:, :, None, :],
      window_strides=(strides, strides),
      padding=pads,
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
      feature_group_count=x.shape[-1],
    )
  if multiplier > 1:  # Output channel c reads input channel c // multiplier, as in the grouped form.
    x = jnp.repeat(x, multiplier, axis=-1)
  if padding == 'SAME':  # TensorFlow's: an odd row or column of padding goes at the end.
    totals = [max((-(-n // strides) - 1) * strides + k - n, 0) for n in x.shape[1:3]]
    pads = [(total // 2, total - total // 2) for total in totals]
  return _shifted_depthwise(x, kernel, strides, tuple(map(tuple, pads)))


def _shifted_sum(x: jax.Array, kernel: jax.Array, strides: int) -> jax.Array:
  """The k * k shifted copies of `x` (already padded), each times its kernel tap, summed."""
  k = kernel.shape[0]
  out_h, out_w = ((n - k) // strides + 1 for n in x.shape[1:3])
  out = None
  for i in range(k):
    for j in range(k):
      tap = x[:, i : i + (out_h - 1) * strides + 1 : strides, j : j + (out_w - 1) * strides + 1 : strides]
      out = tap * kernel[i, j] if out is None else out + tap * kernel[i, j]
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _shifted_depthwise(x: jax.Array, kernel: jax.Array, strides: int, pads: tuple) -> jax.Array:
  """Depthwise convolution as shifted multiply-adds, differentiated by hand: automatic
  differentiation would keep each of the k * k shifted copies of `x` for the kernel gradient (k * k
  times the input's memory, and the time to write it); this keeps `x` alone."""
  return _shifted_sum(jnp.pad(x, ((0, 0), *pads, (0, 0))), kernel, strides)


def _shifted_depthwise_fwd(x, kernel, strides, pads):
  return _shifted_depthwise(x, kernel, strides, pads), (x, kernel)


def _shifted_depthwise_bwd(strides, pads, residuals, grad):
  x, kernel = residuals
  k = kernel.shape[0]
  (out_h, out_w), (h, w) = grad.shape[1:3], (n + lo + hi for n, (lo, hi) in zip(x.shape[1:3], pads, strict=True))
  tap_grad = lambda tap: jnp.sum(tap * grad, axis=(0, 1, 2))
  kernel_grad = _map_taps(tap_grad, x, (k, k), (strides, strides), pads).reshape(kernel.shape)
  # The input gradient is the gradient spread back to each input position, strided positions
  # apart (interior padding), under the kernel turned by 180 degrees: again shifted multiply-adds.
  spread = jax.lax.pad(
    grad,
    jnp.zeros((), grad.dtype),
    (
      (0, 0, 0),
      (k - 1, h - (out_h - 1) * strides - 1, strides - 1),
      (k - 1, w - (out_w - 1) * strides - 1, strides - 1),
      (0, 0, 0),
    ),
  )
  padded_grad = _shifted_sum(spread, kernel[::-1, ::-1], 1)
  (top, _), (left, _) = pads
  return padded_grad[:, top : top + x.shape[1], left : left + x.shape[2]], kernel_grad


_shifted_depthwise.defvjp(_shifted_depthwise_fwd, _shifted_depthwise_bwd)


class DepthwiseConv(nnx.Module):
  """Depthwise k x k convolution; `multiplier` > 1 expands the channels."""

  def __init__(
    self,
    channels: int,
    kernel_size: int = 3,
    strides: int = 1,
    multiplier: int = 1,
    padding: str = 'SAME',
    *,
    rngs: nnx.Rngs,
  ):
    init = nnx.initializers.variance_scaling(2.0, 'fan_in', 'truncated_normal', in_axis=(0, 1), out_axis=2)
    self.kernel = nnx.Param(init(rngs.params(), (kernel_size, kernel_size, channels * multiplier)))
    self.strides, self.padding = strides, padding

  def __call__(self, x: jax.Array) -> jax.Array:
    return depthwise_conv(x, self.kernel[...].astype(x.dtype), self.strides, padding=self.padding)


class ConvBN(nnx.Module):
  """Convolution (dense, grouped or depthwise), batch norm and an optional activation.
  `kernel_size` may be (rows, columns); `scale=False` leaves out batch norm's scale (Keras'
  Inception V3, whose next layer can absorb it). `padding='torch'` pads k // 2 on every side, as
  PyTorch layers do (unlike 'SAME' when strided); with batch norm's `epsilon` 1e-5 that makes a
  torchvision layout compute what torchvision computes from the same weights."""

  def __init__(
    self,
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int] = 1,
    strides: int = 1,
    *,
    groups: int = 1,
    padding: str = 'SAME',
    epsilon: float = 1e-3,
    scale: bool = True,
    act: Activation | None = nnx.relu,
    rngs: nnx.Rngs,
  ):
    square = isinstance(kernel_size, int)
    kernel = (kernel_size, kernel_size) if square else tuple(kernel_size)
    depthwise = square and groups == in_channels and out_channels % in_channels == 0 and kernel_size > 1
    if depthwise and padding in ('SAME', 'torch'):
      self.conv = DepthwiseConv(in_channels, kernel_size, strides, out_channels // in_channels, padding, rngs=rngs)
    else:
      self.conv = Conv(
        in_channels,
        out_channels,
        kernel,
        strides,
        padding=[(k // 2, k // 2) for k in kernel] if padding == 'torch' else padding,
        feature_group_count=groups,
        use_bias=False,
        kernel_init=nnx.initializers.he_normal(),
        rngs=rngs,
      )
    self.norm = nnx.BatchNorm(out_channels, momentum=0.9, epsilon=epsilon, use_scale=scale, rngs=rngs)
    self.act = act

  def __call__(self, x: jax.Array) -> jax.Array:
    x = self.norm(self.conv(x))
    return x if self.act is None else self.act(x)


# torchvision's layouts: what torchvision computes from the same weights (weights.pretrained).
TorchConvBN = functools.partial(ConvBN, padding='torch', epsilon=1e-5)


def max_pool_torch(x: jax.Array) -> jax.Array:
  """3x3 max pooling, stride 2, padding 1 on every side: torchvision's stems'."""
  return nnx.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))


def max_pool_ceil(x: jax.Array, window: int = 3, strides: int = 2) -> jax.Array:
  """Max pooling with torch's ceil_mode=True: a partial window at the end of each row and column."""
  pads = [(0, -(size - window) % strides) for size in x.shape[1:3]]
  return nnx.max_pool(x, (window, window), (strides, strides), padding=pads)


def avg_pool_same(x: jax.Array) -> jax.Array:
  """3x3 average pooling, stride 1, 'same', over each window's valid inputs only (Keras' and
  TensorFlow's; torch's count_include_pad=False)."""
  ones = jnp.ones((1, *x.shape[1:3], 1), x.dtype)
  return nnx.avg_pool(x, (3, 3), padding='SAME') / nnx.avg_pool(ones, (3, 3), padding='SAME')
