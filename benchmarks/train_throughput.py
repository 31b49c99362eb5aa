"""Training throughput and peak memory: skinjax against PyTorch (timm) and Keras 3 (TensorFlow).

  python benchmarks/train_throughput.py [--networks=cancernet_sca_b,resnet50] [--image_size=224]
      [--batch=32] [--steps=5] [--frameworks=skinjax,torch,keras] [--precision=bfloat16]

Each (framework, network) trains in a fresh process (so that its peak resident memory is its
own): two-class softmax cross-entropy, Adam, random images, `--steps` timed steps after two
untimed ones (compilation). skinjax runs its own jitted `train.train_step` through `Trainer`;
`skinjax-xla` is the same step with XLA's own convolutions in place of skinjax's CPU formulations
(`layers.cpu_formulations(False)`), which shows what they gain, and `skinjax-malloc` the same step
with JAX's asynchronous dispatch and glibc's malloc as they come (SKINJAX_KEEP_FREED_MEMORY=0,
`skinjax.host_memory`), which shows what keeping freed memory gains. PyTorch runs timm's model of the
same architecture, Keras its Keras Applications model. Networks
a peer does not have (the Cancer-Net SCa family) get no peer row. A peer that is not installed is
named and left out: PyTorch needs `pip install torch==2.14.1 torchvision==0.29.1 timm` (not part
of skinjax's dependencies); Keras comes with TensorFlow. Prints images/s, peak memory and each
peer's ratio to skinjax, also per multiply-add: each framework's own count of one image's forward
multiply-adds (skinjax's `models.summary`, PyTorch's `FlopCounterMode`, Keras's layer shapes),
which differs where a peer's model of the name is another variant (Keras's ResNet50 is ResNet
v1, stride in the first 1x1 convolution, where skinjax and timm have torchvision's v1.5, stride
in the 3x3 one). `--networks` also takes resnet18 (DermaMNIST's baseline: with
`--image_size=28 --batch=128`, the step of `benchmarks/dermamnist.py`).

Each framework trains on its accelerator where it has one (PyTorch in channels-last layout there),
in `--precision`: bfloat16 is skinjax's `precision='bfloat16'`, PyTorch's autocast and Keras's
'mixed_bfloat16' policy, all with float32 weights. Peak memory is the accelerator's where there is
one, else the process's resident memory. Achieved TFLOP/s counts 6 FLOPs per forward
multiply-add and image (forward, and a backward pass twice its cost), against the device's peak as
measured in the same run: JAX's dense matrix product in `--precision`, 8192 square (2048 on CPU).
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

NETWORKS = ('cancernet_sca_b', 'cancernet_sca_c', 'mobilenet_v2', 'resnet50', 'efficientnet_b0')
TIMM = {
  'resnet18': 'resnet18',
  'mobilenet_v2': 'mobilenetv2_100',
  'resnet50': 'resnet50',
  'efficientnet_b0': 'efficientnet_b0',
}
KERAS = {'mobilenet_v2': 'MobileNetV2', 'resnet50': 'ResNet50', 'efficientnet_b0': 'EfficientNetB0'}
WARMUP = 2
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')  # Keras 3's peer rows; KERAS_BACKEND=jax where no TensorFlow.


def skinjax_steps(network: str, size: int, batch: int, precision: str):
  """A function that runs one skinjax training step (and blocks until it is done)."""
  import jax

  from skinjax import config_lib, input_pipeline, train
  from tfds_builders import common

  config = config_lib.with_overrides(
    config_lib.base_config(), {'model.name': network, 'batch_size': batch, 'precision': precision}
  )
  config.dataset.image_size = size
  info = input_pipeline.DatasetInfo.from_json(
    {'class_names': ['benign', 'malignant'], 'class_counts': [1, 1], 'sex': common.SEXES, 'site': common.SITES}
  )
  trainer = train.Trainer(config, info, total_steps=100)
  rng = np.random.default_rng(0)
  local = {
    'image': rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8),
    'label': rng.integers(0, 2, batch).astype(np.int32),
    'metadata': np.zeros((batch, len(input_pipeline.unknown_metadata(info.features))), np.float32),
  }
  global_batch = trainer.to_global(local)
  state = [trainer.initial_state]

  def step():
    state[0], out = trainer.train_step(state[0], global_batch)
    jax.block_until_ready(out['loss'])

  return step


def skinjax_xla_steps(network: str, size: int, batch: int, precision: str):
  """skinjax with XLA's own convolutions instead of their CPU formulations (the 'before' row)."""
  from skinjax.models import layers

  step = skinjax_steps(network, size, batch, precision)

  def xla_step():
    with layers.cpu_formulations(False):
      step()

  return xla_step


def skinjax_macs(network: str, size: int) -> int:
  from flax import nnx

  from skinjax import models
  from skinjax.models import summary

  return summary.macs(models.build(network, num_classes=2, rngs=nnx.Rngs(0)), size)


def torch_steps(network: str, size: int, batch: int, precision: str):
  import timm
  import torch

  torch.set_num_threads(os.cpu_count())
  device = 'cuda' if torch.cuda.is_available() else 'cpu'
  layout = torch.channels_last if device == 'cuda' else torch.contiguous_format
  torch.backends.cudnn.benchmark = True
  model = timm.create_model(TIMM[network], num_classes=2).to(device, memory_format=layout).train()
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
  images = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=layout)
  labels = torch.randint(0, 2, (batch,), device=device)

  def step():
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(device, torch.bfloat16, enabled=precision == 'bfloat16'):
      loss = torch.nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    loss.item()  # Waits for the accelerator.

  return step


def torch_macs(network: str, size: int) -> int:
  import timm
  import torch
  from torch.utils.flop_counter import FlopCounterMode

  model = timm.create_model(TIMM[network], num_classes=2).eval()
  with FlopCounterMode(display=False) as counter, torch.no_grad():
    model(torch.zeros(1, 3, size, size))
  return counter.get_total_flops() // 2


def keras_model(network: str, size: int):
  import keras

  return getattr(keras.applications, KERAS[network])(weights=None, classes=2, input_shape=(size, size, 3))


def keras_steps(network: str, size: int, batch: int, precision: str):
  import keras

  if precision == 'bfloat16':
    keras.mixed_precision.set_global_policy('mixed_bfloat16')
  model = keras_model(network, size)
  model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='sparse_categorical_crossentropy')
  images = np.random.default_rng(0).normal(size=(batch, size, size, 3)).astype(np.float32)
  labels = np.random.default_rng(1).integers(0, 2, batch)
  return lambda: model.train_on_batch(images, labels)


def keras_macs(network: str, size: int) -> int:
  """Each convolution's and dense layer's output positions times its kernel's size."""
  import keras

  layers = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
  return sum(
    math.prod(layer.output.shape[1:-1]) * math.prod(layer.kernel.shape)
    for layer in keras_model(network, size).layers
    if isinstance(layer, layers)
  )


STEPS = {
  'skinjax': skinjax_steps,
  'skinjax-xla': skinjax_xla_steps,
  'skinjax-malloc': skinjax_steps,
  'torch': torch_steps,
  'keras': keras_steps,
}
SKINJAX = (*NETWORKS, *TIMM)
HAS = {
  'skinjax': SKINJAX,
  'skinjax-xla': SKINJAX,
  'skinjax-malloc': SKINJAX,
  'torch': tuple(TIMM),
  'keras': tuple(KERAS),
}
# How each framework counts one image's forward multiply-adds.
MACS = {
  'skinjax': skinjax_macs,
  'skinjax-xla': skinjax_macs,
  'skinjax-malloc': skinjax_macs,
  'torch': torch_macs,
  'keras': keras_macs,
}
# Each framework's process environment, beyond this one's.
ENV = {'skinjax-malloc': {'SKINJAX_KEEP_FREED_MEMORY': '0'}}


def accelerator_peak_mb(framework: str) -> float | None:
  """This process's peak accelerator memory, or None where it trained on the CPU."""
  if framework == 'torch':
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
  if framework == 'keras' and os.environ['KERAS_BACKEND'] != 'jax':
    return None
  import jax

  stats = jax.local_devices()[0].memory_stats()
  return stats['peak_bytes_in_use'] / 2**20 if jax.default_backend() != 'cpu' and stats else None


def measure(framework: str, network: str, size: int, batch: int, steps: int, precision: str) -> dict:
  step = STEPS[framework](network, size, batch, precision)
  for _ in range(WARMUP):
    step()
  start = time.perf_counter()
  for _ in range(steps):
    step()
  seconds = time.perf_counter() - start
  # Before counting multiply-adds builds another model.
  peak_mb = accelerator_peak_mb(framework) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return {'images_per_s': steps * batch / seconds, 'peak_mb': peak_mb, 'macs': MACS[framework](network, size)}


def matmul_peak(precision: str) -> dict:
  """The default device's rate at a dense matrix product in `precision`: the median of 10."""
  import jax
  import jax.numpy as jnp

  from skinjax.models.summary import median_seconds

  n = 2048 if jax.default_backend() == 'cpu' else 8192
  a, b = jax.random.normal(jax.random.key(0), (2, n, n), jnp.dtype(precision))
  product = jax.jit(jnp.matmul)
  seconds = median_seconds(lambda: product(a, b).block_until_ready(), 10)
  return {'tflops': 2 * n**3 / seconds / 1e12, 'n': n, 'device': jax.devices()[0].device_kind}


def in_process(args, one: str) -> dict | str:
  """measure() of `one` ('framework:network'), or matmul_peak() for 'peak', in a fresh
  interpreter: its numbers, or why it did not run."""
  flags = [f'--image_size={args.image_size}', f'--batch={args.batch}', f'--steps={args.steps}']
  framework = one.split(':')[0]
  result = subprocess.run(
    [sys.executable, __file__, f'--one={one}', f'--precision={args.precision}', *flags],
    capture_output=True,
    text=True,
    check=False,
    env=os.environ | ENV.get(framework, {}),
  )
  if result.returncode:
    errors = [line for line in result.stderr.splitlines() if 'Error' in line.split(':')[0]]
    last = (errors or result.stderr.strip().splitlines() or ['no output'])[-1]
    return 'not installed' if 'ModuleNotFoundError' in last else f'failed: {last}'
  return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--networks', default=','.join(NETWORKS))
  parser.add_argument('--frameworks', default='skinjax,skinjax-xla,skinjax-malloc,torch,keras')
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--batch', type=int, default=32)
  parser.add_argument('--steps', type=int, default=5, help='Timed steps, after two untimed ones.')
  parser.add_argument('--precision', default='float32', choices=('float32', 'bfloat16'))
  parser.add_argument('--one', default='', help=argparse.SUPPRESS)  # framework:network, in a child process.
  args = parser.parse_args()
  if args.one == 'peak':
    print(json.dumps(matmul_peak(args.precision)))
    return
  if args.one:
    framework, network = args.one.split(':')
    print(json.dumps(measure(framework, network, args.image_size, args.batch, args.steps, args.precision)))
    return
  frameworks = args.frameworks.split(',')
  size, cpus = f'{args.image_size}x{args.image_size}', os.cpu_count()
  peak = in_process(args, 'peak')
  print(f'Training at {size}, batch {args.batch}, {args.steps} timed steps, {args.precision}, {cpus} CPUs')
  print(
    f'Peak: {peak["n"]}-square matrix product in {args.precision} on {peak["device"]}: {peak["tflops"]:.3f} TFLOP/s'
  )
  print(
    f'{"network":18s} {"framework":14s} {"images/s":>9s} {"peak MB":>8s} {"GMACs":>6s} '
    f'{"vs skinjax":>10s} {"per MAC":>8s} {"TFLOP/s":>8s} {"of peak":>7s}'
  )
  for network in args.networks.split(','):
    reference = None
    for framework in frameworks:
      if network not in HAS[framework]:
        continue
      r = in_process(args, f'{framework}:{network}')
      if isinstance(r, str):
        print(f'{network:18s} {framework:14s} {r}')
        continue
      reference = reference or (r if framework == 'skinjax' else None)
      ratios, tflops = ('', ''), 6 * r['macs'] * r['images_per_s'] / 1e12
      if reference:
        ratio = r['images_per_s'] / reference['images_per_s']
        ratios = (f'{ratio:.2f}x', f'{ratio * r["macs"] / reference["macs"]:.2f}x')
      print(
        f'{network:18s} {framework:14s} {r["images_per_s"]:9.2f} {r["peak_mb"]:8.0f} {r["macs"] / 1e9:6.2f} '
        f'{ratios[0]:>10s} {ratios[1]:>8s} {tflops:8.3f} {tflops / peak["tflops"]:7.1%}',
        flush=True,
      )


if __name__ == '__main__':
  main()
