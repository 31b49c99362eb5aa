"""Seed 001's older baselines, as in torchvision, with 1000 classes: VGG16 (Simonyan & Zisserman,
2015) 138,357,544 parameters; SqueezeNet 1.1 (Iandola et al., 2016) 1,235,496."""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier, Conv, Normalize, max_pool_ceil
from skinjax.models.registry import register

VGG16 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M')


def _conv(c_in: int, c_out: int, k: int, rngs: nnx.Rngs, strides: int = 1, padding='SAME') -> nnx.Conv:
  return Conv(c_in, c_out, (k, k), strides, padding=padding, kernel_init=nnx.initializers.he_normal(), rngs=rngs)


def adaptive_avg_pool(x: jax.Array, size: int) -> jax.Array:
  """Average pooling of NHWC `x` to size x size, over the windows torch's adaptive pooling uses."""
  h, w = x.shape[1:3]
  rows = [jnp.mean(x[:, i * h // size : -(-(i + 1) * h // size)], axis=1) for i in range(size)]
  x = jnp.stack(rows, axis=1)
  cols = [jnp.mean(x[:, :, j * w // size : -(-(j + 1) * w // size)], axis=2) for j in range(size)]
  return jnp.stack(cols, axis=2)


@register('vgg16')
class VGG(Classifier):
  def __init__(self, *, num_classes: int, dropout: float = 0.5, rngs: nnx.Rngs):
    self.normalize = Normalize()
    convs, channels = [], 3
    for v in VGG16:
      convs.append(v if v == 'M' else _conv(channels, v, 3, rngs))
      channels = channels if v == 'M' else v
    self.convs = nnx.List(convs)
    self.fc1 = nnx.Linear(512 * 7 * 7, 4096, rngs=rngs)
    self.fc2 = nnx.Linear(4096, 4096, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(4096, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = self.normalize(x)
    for layer in self.convs:
      x = nnx.max_pool(x, (2, 2), (2, 2)) if layer == 'M' else nnx.relu(layer(x))
    return x

  def pool(self, feature_map: jax.Array) -> jax.Array:
    """The second fully connected layer's output, before the classifier."""
    x = adaptive_avg_pool(feature_map, 7).reshape(feature_map.shape[0], -1)
    return nnx.relu(self.fc2(self.dropout(nnx.relu(self.fc1(x)))))


class Fire(nnx.Module):
  """Squeeze (1x1) then expand (1x1 and 3x3, concatenated), each with ReLU."""

  def __init__(self, c_in: int, squeeze: int, expand: int, *, rngs: nnx.Rngs):
    self.squeeze = _conv(c_in, squeeze, 1, rngs)
    self.expand1 = _conv(squeeze, expand, 1, rngs)
    self.expand3 = _conv(squeeze, expand, 3, rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    s = nnx.relu(self.squeeze(x))
    return jnp.concatenate([nnx.relu(self.expand1(s)), nnx.relu(self.expand3(s))], axis=-1)


@register('squeezenet1_1')
class SqueezeNet(Classifier):
  """Its classifier is a 1x1 convolution with ReLU before the pooling: `head` applied at every
  position. A new head (`model.hidden`, fusion) classifies the pooled features instead."""

  def __init__(self, *, num_classes: int, dropout: float = 0.5, rngs: nnx.Rngs):
    self.normalize = Normalize()
    self.stem = _conv(3, 64, 3, rngs, strides=2, padding='VALID')
    fires = [(64, 16, 64), (128, 16, 64), 'M', (128, 32, 128), (256, 32, 128), 'M']
    fires += [(256, 48, 192), (384, 48, 192), (384, 64, 256), (512, 64, 256)]
    self.fires = nnx.List([f if f == 'M' else Fire(*f, rngs=rngs) for f in fires])
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.head = nnx.Linear(512, num_classes, rngs=rngs)

  def feature_map(self, x: jax.Array) -> jax.Array:
    x = max_pool_ceil(nnx.relu(self.stem(self.normalize(x))))
    for fire in self.fires:
      x = max_pool_ceil(x) if fire == 'M' else fire(x)
    return x

  def classify(self, feature_map: jax.Array) -> jax.Array:
    return jnp.mean(nnx.relu(self.head(self.dropout(feature_map))), axis=(1, 2))
