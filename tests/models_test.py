"""Layers, blocks and the model registry."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from skinjax import models
from skinjax.models import blocks, layers, summary


@pytest.mark.parametrize('strides', [1, 2])
@pytest.mark.parametrize('multiplier', [1, 3])
@pytest.mark.parametrize('size', [8, 9])
@pytest.mark.parametrize('padding, k', [('SAME', 3), ('torch', 3), ('torch', 5)])
def test_shifted_depthwise_equals_grouped_convolution(strides, multiplier, size, padding, k):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 4))
  kernel = jax.random.normal(jax.random.key(1), (k, k, 4 * multiplier))
  conv = functools.partial(layers.depthwise_conv, strides=strides, padding=padding)
  shifted, grouped = conv(x, kernel, shifted=True), conv(x, kernel, shifted=False)
  np.testing.assert_allclose(shifted, grouped, atol=1e-5)
  if padding == 'torch':  # Symmetric: the output of size n is (n + 2 * (k // 2) - k) // strides + 1.
    assert shifted.shape[1] == (size - 1) // strides + 1
  grad = lambda s: jax.grad(lambda x, k: jnp.sum(jnp.sin(conv(x, k, shifted=s))), (0, 1))
  for a, b in zip(grad(True)(x, kernel), grad(False)(x, kernel), strict=True):
    np.testing.assert_allclose(a, b, atol=1e-4)


CONVS = [
  (1, 1, 'SAME'),
  (1, 2, 'SAME'),
  (3, 1, 'SAME'),
  (3, 2, 'SAME'),
  (3, 2, [(1, 1), (1, 1)]),
  (3, 4, 'SAME'),
  (7, 2, 'VALID'),
]


@pytest.mark.parametrize('k, strides, padding', CONVS)
def test_conv_cpu_formulation_equals_xla(k, strides, padding):
  """Forward and gradients, on a batch sharded over a ('data',) mesh as the trainer shards it."""
  graphdef, params = nnx.split(layers.Conv(4, 6, (k, k), strides, padding=padding, rngs=nnx.Rngs(0)))
  mesh = jax.make_mesh((jax.device_count(),), ('data',))
  x = jax.random.normal(jax.random.key(0), (2 * jax.device_count(), 9, 9, 4))
  x = jax.device_put(x, NamedSharding(mesh, P('data')))
  params = jax.device_put(params, NamedSharding(mesh, P()))
  loss = lambda params, x: jnp.sum(jnp.sin(nnx.merge(graphdef, params)(x)))

  def value_and_grads(cpu: bool):
    with layers.cpu_formulations(cpu):
      step = jax.value_and_grad(loss, (0, 1))
      # On CPU the kernel gradient (and a 1x1 convolution) are matrix products.
      assert ('dot_general' in str(jax.make_jaxpr(step)(params, x))) == cpu
      return jax.jit(step)(params, x)

  (mine, (mine_params, mine_x)), (xla, (xla_params, xla_x)) = value_and_grads(True), value_and_grads(False)
  np.testing.assert_allclose(mine, xla, rtol=1e-5)
  np.testing.assert_allclose(mine_x, xla_x, atol=1e-5)
  for a, b in zip(jax.tree.leaves(mine_params), jax.tree.leaves(xla_params), strict=True):
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_attention_condenser_attends():
  block = blocks.AttentionCondenser(8, 4, rngs=nnx.Rngs(0))
  v = jax.random.normal(jax.random.key(0), (2, 9, 9, 8))
  attention = block.attention(v)
  assert attention.shape == v.shape
  assert float(attention.min()) > 0 and float(attention.max()) < 1
  assert float(attention.std()) > 1e-3  # Depends on the input, not a constant.
  out = block(v)
  assert out.shape == v.shape and not np.allclose(out, v)
  np.testing.assert_allclose(out, v * attention * block.scale[...] + v, rtol=1e-6)


def test_visual_attention_condenser_and_pepe_shapes():
  x = jnp.ones((2, 16, 16, 12))
  vac = blocks.VisualAttentionCondenser(12, 6, 4, 20, rngs=nnx.Rngs(0))
  assert vac(x).shape == (2, 16, 16, 20)
  pepe = blocks.PEPE(12, 8, 16, 8, 24, strides=2, groups=4, rngs=nnx.Rngs(0))
  assert pepe(x).shape == (2, 8, 8, 24)
  # Channel decoupling: the first projection is a grouped convolution.
  assert pepe.layers.layers[0].conv.kernel.shape == (1, 1, 3, 8)


def test_mobilenet_blocks():
  x = jax.random.normal(jax.random.key(0), (2, 16, 16, 8))
  residual = blocks.InvertedResidual(8, 8, expand_ratio=4, se_ratio=0.25, rngs=nnx.Rngs(0))
  assert residual(x).shape == x.shape and residual.residual
  assert blocks.InvertedResidual(8, 16, strides=2, rngs=nnx.Rngs(0))(x).shape == (2, 8, 8, 16)
  assert blocks.DepthwiseSeparable(8, 24, strides=2, rngs=nnx.Rngs(0))(x).shape == (2, 8, 8, 24)
  gates = blocks.SqueezeExcite(8, 2, rngs=nnx.Rngs(0))(x) / x
  assert np.allclose(gates, gates[:, :1, :1], atol=1e-4)  # One gate per channel.


def test_long_range_connection_changes_the_output():
  early, late = jax.random.normal(jax.random.key(0), (2, 16, 16, 4)), jnp.zeros((2, 4, 4, 8))
  out = blocks.LongRange(4, 8, pool=4, rngs=nnx.Rngs(0))(early, late)
  assert out.shape == late.shape and float(jnp.abs(out).sum()) > 0


def test_registry():
  assert 'cancernet_sca_b' in models.names()
  with pytest.raises(ValueError, match='Unknown model .*cancernet_sca_b'):
    models.build('cancernet_sca_z', num_classes=2, rngs=nnx.Rngs(0))


@pytest.mark.parametrize(
  'name, params',
  [
    ('mobilenet_v2', 3_504_872),
    ('resnet18', 11_689_512),
    ('resnet34', 21_797_672),
    ('resnet50', 25_557_032),
    ('resnext50_32x4d', 25_028_904),
    ('vgg16', 138_357_544),
    ('squeezenet1_1', 1_235_496),
    ('densenet121', 7_978_856),
    ('mnasnet1_0', 4_383_312),
    ('shufflenet_v2_x1_0', 2_278_604),
    ('googlenet', 6_624_904),  # Without the auxiliary classifiers, as torchvision's weights.
    ('efficientnet_b0', 5_288_548),
    ('efficientnet_b1', 7_794_184),
    ('efficientnet_b2', 9_109_994),
    ('efficientnet_b3', 12_233_232),
    ('efficientnet_lite0', 4_652_008),  # timm.
  ],
)
def test_baselines_match_torchvision_and_timm_parameter_counts(name, params):
  assert summary.num_params(models.build(name, num_classes=1000, rngs=nnx.Rngs(0))) == params


@pytest.mark.parametrize(
  'name, trainable, total',
  [
    ('mobilenet_v1', 4_231_976, 4_253_864),
    ('inception_v3', 23_817_352, 23_851_784),
    ('nasnet_mobile', 5_289_978, 5_326_716),
  ],
)
def test_keras_applications_parameter_counts(name, trainable, total):
  model = models.build(name, num_classes=1000, rngs=nnx.Rngs(0))
  statistics = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.BatchStat)))
  assert (summary.num_params(model), summary.num_params(model) + statistics) == (trainable, total)


def test_standard_cnn_is_seed_001s_searched_network():
  model = models.build('standard_cnn', num_classes=2, rngs=nnx.Rngs(0))
  convs = (4 * 4 * 3 * 11 + 11) + 4 * (4 * 4 * 11 * 11 + 11)
  assert summary.num_params(model) == convs + 11 * 2 + 2
  assert model(jnp.zeros((2, 224, 224, 3), jnp.uint8)).shape == (2, 2)
  deep = models.build(
    'standard_cnn', num_classes=2, num_layers=10, kernel_size=2, pool_size=4, filters=6, rngs=nnx.Rngs(0)
  )
  assert deep(jnp.zeros((1, 224, 224, 3), jnp.uint8)).shape == (1, 2)


def _dense(n_in, n_out, batch_norm=True):
  return n_in * n_out + n_out + (2 * n_out if batch_norm else 0)


def test_new_heads_replace_the_backbones_head():
  backbone = 3_504_872 - _dense(1280, 1000, False)  # MobileNetV2 without its classifier.
  hidden = models.build('mobilenet_v2', num_classes=7, hidden=(120, 84), rngs=nnx.Rngs(0))  # Seed 004's head.
  assert summary.num_params(hidden) == backbone + _dense(1280, 120) + _dense(120, 84) + _dense(84, 7, False)
  metadata = _dense(14, 64) + _dense(64, 64)
  early = models.build('mobilenet_v2', num_classes=2, fusion='early', metadata_features=14, rngs=nnx.Rngs(0))
  assert summary.num_params(early) == backbone + metadata + _dense(1280 + 64, 2, False)
  late = models.build('mobilenet_v2', num_classes=2, fusion='late', metadata_features=14, rngs=nnx.Rngs(0))
  assert summary.num_params(late) == backbone + metadata + _dense(1280, 2, False) + _dense(64, 2, False)
  images, metadata = jnp.zeros((2, 32, 32, 3), jnp.uint8), jnp.zeros((2, 14))
  assert early(images, metadata).shape == late(images, metadata).shape == (2, 2)
  with pytest.raises(ValueError, match='call it with images and metadata'):
    early(images)
  with pytest.raises(ValueError, match="model.fusion must be one of .* got 'middle'"):
    models.build('mobilenet_v2', num_classes=2, fusion='middle', metadata_features=14, rngs=nnx.Rngs(0))
