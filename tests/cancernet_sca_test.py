"""The Cancer-Net SCa family: published sizes, counting, training and inference modes."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import ROOT
from flax import nnx

from skinjax import models
from skinjax.models import summary

# Table 1 of Lee et al. (2022): parameters and FLOPs (2 x multiply-adds) at 224x224x3, within 5%;
# Cancer-Net SCa-DC-AC's published 1.632M parameters and 0.319 GMACs (one output), within 1%.
PUBLISHED = {
  'cancernet_sca_a': (2, 13.65e6, 4.66e9 / 2, 0.05),
  'cancernet_sca_b': (2, 0.80e6, 0.43e9 / 2, 0.05),
  'cancernet_sca_c': (2, 1.19e6, 0.40e9 / 2, 0.05),
  'cancernet_sca_dc_ac': (1, 1.632e6, 0.319e9, 0.01),
}


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_sizes_match_the_published_ones(name):
  num_classes, params, macs, tolerance = PUBLISHED[name]
  counts = summary.count(models.build(name, num_classes=num_classes, rngs=nnx.Rngs(0)), 224)
  assert counts['params'] == pytest.approx(params, rel=tolerance)
  assert counts['macs'] == pytest.approx(macs, rel=tolerance)
  # XLA's FLOPs: twice the multiply-adds, less the zero padding it skips, plus a little for batch
  # norm and activations.
  assert counts['flops'] == pytest.approx(2 * counts['macs'], rel=0.05)


def test_mac_count_is_analytic():
  class Small(nnx.Module):
    def __init__(self, rngs):
      self.conv = nnx.Conv(3, 16, (3, 3), strides=2, rngs=rngs)
      self.depthwise = models.layers.DepthwiseConv(16, 3, multiplier=2, rngs=rngs)
      self.grouped = nnx.Conv(32, 8, (1, 1), feature_group_count=4, rngs=rngs)
      self.dense = nnx.Linear(8, 5, rngs=rngs)

    def __call__(self, x):
      x = self.grouped(self.depthwise(self.conv(x.astype(jnp.float32))))
      return self.dense(jnp.mean(x, axis=(1, 2)))

  counts = summary.count(Small(nnx.Rngs(0)), 20)
  expected = 10 * 10 * (16 * 3 * 3 * 3 + 32 * 3 * 3 + 8 * 32 // 4) + 8 * 5
  assert counts['macs'] == expected
  assert counts['params'] == (16 * 27 + 16) + 9 * 32 + (8 * 8 + 8) + (8 * 5 + 5)
  assert counts['flops'] == pytest.approx(2 * expected, rel=0.1)  # XLA skips the zero padding.


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_forward_backward_and_batch_norm_in_train_and_eval_modes(name):
  model = models.build(name, num_classes=2, dropout=0.5, rngs=nnx.Rngs(params=0, dropout=1))
  images = jax.random.randint(jax.random.key(0), (4, 32, 32, 3), 0, 256).astype(jnp.uint8)
  labels = jnp.array([0, 1, 0, 1])

  @nnx.jit
  def grads(model):
    loss = lambda m: optax.softmax_cross_entropy_with_integer_labels(m(images), labels).mean()
    return nnx.grad(loss)(model)

  stats = lambda: [np.array(x) for x in jax.tree.leaves(nnx.state(model, nnx.BatchStat))]
  initial = stats()
  model.train()
  g = jax.tree.leaves(grads(model))
  assert all(bool(jnp.isfinite(x).all()) for x in g)
  assert sum(float(jnp.abs(x).sum()) for x in g) > 0
  trained = stats()
  assert not any(np.array_equal(a, b) for a, b in zip(initial, trained, strict=True))  # Updated in train mode...
  model.eval()
  forward = nnx.jit(lambda m: m(images))
  out = forward(model)
  assert out.shape == (4, 2) and np.array_equal(out, forward(model))  # Eval: no dropout.
  assert all(np.array_equal(a, b) for a, b in zip(trained, stats(), strict=True))  # ...not in eval mode.


def test_summary_cli_lists_every_network():
  args = ['-m', 'skinjax.models.summary', '--json', '--image_size=32']
  result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  table = json.loads(result.stdout)
  assert sorted(table) == models.names() and set(PUBLISHED) <= set(table)
  b = models.build('cancernet_sca_b', num_classes=2, rngs=nnx.Rngs(0))
  assert table['cancernet_sca_b']['params'] == summary.num_params(b)
  assert all(set(row) == {'reference', 'image_size', 'params', 'flops', 'macs'} for row in table.values())
  assert table['resnet50']['reference'] == 'torchvision resnet50' and table['inception_v3']['image_size'] == 75
