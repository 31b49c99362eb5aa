"""Parameters, multiply-adds, FLOPs and CPU latency of every registered network.

  python -m skinjax.models.summary [--image_size=224] [--num_classes=2] [--json] [--latency]

MACs are counted from the forward pass's jaxpr (every convolution and matrix product);
FLOPs are XLA's cost analysis of the compiled forward pass, which counts a multiply-add as two
operations and adds batch norm, activations and pooling. Both count XLA's own convolutions
(`layers.cpu_formulations(False)`), not their CPU formulations.
"""

import json
import math
import time
from collections.abc import Callable

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from flax import nnx

from skinjax import models
from skinjax.models import layers


def num_params(model: nnx.Module) -> int:
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def _jaxpr_macs(jaxpr) -> int:
  total = 0
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == 'conv_general_dilated':
      rhs = eqn.invars[1].aval.shape
      out_features = rhs[eqn.params['dimension_numbers'].rhs_spec[0]]
      total += math.prod(eqn.outvars[0].aval.shape) * math.prod(rhs) // out_features
    elif eqn.primitive.name == 'dot_general':
      (contracting, _), _ = eqn.params['dimension_numbers']
      lhs = eqn.invars[0].aval.shape
      total += math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in contracting)
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      total += _jaxpr_macs(sub)
  return total


def _forward(model: nnx.Module, image_size: int, batch_size: int = 1):
  """The inference forward pass as a function of (state, images), its state, and zero images."""
  model.eval()
  graphdef, state = nnx.split(model)
  x = jnp.zeros((batch_size, image_size, image_size, 3), jnp.uint8)
  return lambda state, x: nnx.merge(graphdef, state)(x), state, x


def macs(model: nnx.Module, image_size: int) -> int:
  """Multiply-adds of one image's inference forward pass."""
  fwd, state, x = _forward(model, image_size)
  with layers.cpu_formulations(enabled=False):
    return int(_jaxpr_macs(jax.make_jaxpr(fwd)(state, x).jaxpr))


def count(model: nnx.Module, image_size: int) -> dict[str, int]:
  """{'params', 'macs', 'flops'} of one image's inference forward pass."""
  fwd, state, x = _forward(model, image_size)
  with layers.cpu_formulations(enabled=False):
    cost = jax.jit(fwd).lower(state, x).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  return {'params': num_params(model), 'macs': macs(model, image_size), 'flops': int(cost['flops'])}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
  """Median wall time of `fn()` over `repeats` calls, after one untimed call (compilation)."""
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def latency_ms(model: nnx.Module, image_size: int, batch_size: int = 1, repeats: int = 20) -> float:
  """Median wall time of a jitted inference forward pass, in milliseconds."""
  fwd, state, x = _forward(model, image_size, batch_size)
  fwd = jax.jit(fwd)
  return median_seconds(lambda: fwd(state, x).block_until_ready(), repeats) * 1e3


FLAGS = flags.FLAGS
flags.DEFINE_integer('image_size', 224, 'Input height and width.')
flags.DEFINE_integer('num_classes', 2, 'Outputs of the classifier head.')
flags.DEFINE_bool('json', False, 'Print {name: {reference, image_size, params, flops, macs}} as JSON.')

# The implementation each network follows, whose parameter count it has with 1000 classes.
REFERENCES = {
  'cancernet_sca_a': 'Lee et al. 2022, Table 1 (reconstruction)',
  'cancernet_sca_b': 'Lee et al. 2022, Table 1 (reconstruction)',
  'cancernet_sca_c': 'Lee et al. 2022, Table 1 (reconstruction)',
  'cancernet_sca_dc_ac': 'Tai et al., as published',
  'densenet121': 'torchvision densenet121',
  'efficientnet_b0': 'torchvision efficientnet_b0',
  'efficientnet_b1': 'torchvision efficientnet_b1',
  'efficientnet_b2': 'torchvision efficientnet_b2',
  'efficientnet_b3': 'torchvision efficientnet_b3',
  'efficientnet_lite0': 'timm efficientnet_lite0',
  'googlenet': 'torchvision googlenet (without auxiliary heads)',
  'inception_v3': 'Keras Applications InceptionV3',
  'mnasnet1_0': 'torchvision mnasnet1_0',
  'mobilenet_v1': 'Keras Applications MobileNet',
  'mobilenet_v2': 'torchvision mobilenet_v2',
  'nasnet_mobile': 'Keras Applications NASNetMobile',
  'resnet18': 'torchvision resnet18',
  'resnet34': 'torchvision resnet34',
  'resnet50': 'torchvision resnet50',
  'resnext50_32x4d': 'torchvision resnext50_32x4d',
  'shufflenet_v2_x1_0': 'torchvision shufflenet_v2_x1_0',
  'squeezenet1_1': 'torchvision squeezenet1_1',
  'standard_cnn': 'Kim & Rocheteau 2020, Appendix B',
  'vgg16': 'torchvision vgg16',
}
# Networks whose 'VALID' stem needs larger inputs than --image_size may be: measured at this size.
MIN_IMAGE_SIZE = {'inception_v3': 75}
flags.DEFINE_bool('latency', True, 'Also measure batch-1 CPU latency (not in the JSON).')


def main(argv):
  del argv
  rows = {}
  for name in models.names():
    model = models.build(name, num_classes=FLAGS.num_classes, rngs=nnx.Rngs(0))
    size = max(FLAGS.image_size, MIN_IMAGE_SIZE.get(name, 0))
    rows[name] = {'reference': REFERENCES[name], 'image_size': size, **count(model, size)}
    if FLAGS.latency and not FLAGS.json:
      rows[name]['latency_ms'] = latency_ms(model, size)
  if FLAGS.json:
    print(json.dumps(rows, indent=2))
    return
  print(f'{FLAGS.image_size}x{FLAGS.image_size}x3 input, {FLAGS.num_classes} classes, backend {jax.default_backend()}')
  print(f'{"network":<22}{"params (M)":>12}{"GMACs":>9}{"GFLOPs":>9}{"latency b1 (ms)":>17}  reference')
  for name, r in rows.items():
    ms = f'{r["latency_ms"]:.1f}' if 'latency_ms' in r else '-'
    size = f' (at {r["image_size"]}px)' if r['image_size'] != FLAGS.image_size else ''
    line = f'{name:<22}{r["params"] / 1e6:>12.3f}{r["macs"] / 1e9:>9.3f}{r["flops"] / 1e9:>9.3f}{ms:>17}'
    print(f'{line}  {r["reference"]}{size}')


if __name__ == '__main__':
  app.run(main)
