"""Tables from torchvision's state-dict names to skinjax's, one per network family, converting the
layouts on the way (OIHW -> HWIO; linear layers transposed). Each takes the file's tensors and
returns skinjax's names, refusing a file with tensors that no entry of its table used."""

from collections.abc import Iterator

import numpy as np

from skinjax.models.inception import GOOGLENET
from skinjax.models.vgg import VGG16

Tensors = dict[str, np.ndarray]
Named = dict[tuple[str, ...], np.ndarray]


def conv(w: np.ndarray) -> np.ndarray:
  """A convolution's OIHW kernel as HWIO, or a depthwise one's (C, 1, k, k) as skinjax's (k, k, C)."""
  if w.shape[1] == 1 and w.shape[2] > 1:
    return w[:, 0].transpose(1, 2, 0)
  return w.transpose(2, 3, 1, 0)


def batch_norm(tensors: Tensors, out: Named, ours: tuple, bn: str) -> None:
  for theirs, mine in (('weight', 'scale'), ('bias', 'bias'), ('running_mean', 'mean'), ('running_var', 'var')):
    out[(*ours, mine)] = tensors[f'{bn}.{theirs}']


def conv_bn(tensors: Tensors, out: Named, ours: tuple, conv_name: str, bn: str) -> None:
  """A convolution without bias and a batch norm: skinjax's `ConvBN` (or `BNReLUConv`) at `ours`."""
  out[(*ours, 'conv', 'kernel')] = conv(tensors[f'{conv_name}.weight'])
  batch_norm(tensors, out, (*ours, 'norm'), bn)


def with_bias(tensors: Tensors, out: Named, ours: tuple, name: str) -> None:
  """A linear layer, or a convolution with bias."""
  w = tensors[f'{name}.weight']
  out[(*ours, 'kernel')] = w.T if w.ndim == 2 else conv(w)
  out[(*ours, 'bias')] = tensors[f'{name}.bias']


def all_mapped(tensors: Tensors, out: Named, network: str) -> Named:
  """`out`, once every tensor of the file (but batch norm's step counters) has been mapped."""
  used = [k for k in tensors if not k.endswith('num_batches_tracked')]
  if len(out) != len(used):
    raise ValueError(f'{len(used)} tensors in the file, {len(out)} mapped: the file is not a {network}.')
  return out


def _sequential(i: int, name: str = 'layers') -> tuple[str, ...]:
  return (name, 'layers', str(i))  # Item i of an `nnx.Sequential` attribute.


def _blocks(tensors: Tensors, block: str, probe: str, first_stage: int) -> Iterator[str]:
  """The names of the blocks of torch's numbered stages, in order, from `first_stage` on: block
  i of stage s is `block.format(s, i)`, there while its tensor `probe` is."""
  stage = first_stage
  while f'{block.format(stage, 0)}.{probe}' in tensors:
    i = 0
    while f'{block.format(stage, i)}.{probe}' in tensors:
      yield block.format(stage, i)
      i += 1
    stage += 1


def _last_index(tensors: Tensors, sequential: str) -> int:
  """The index of the last item of torch's `nn.Sequential` `sequential`."""
  return max(int(k.removeprefix(f'{sequential}.').split('.')[0]) for k in tensors if k.startswith(f'{sequential}.'))


def resnet(tensors: Tensors) -> Named:
  """ResNet / ResNeXt (`layer2.0.conv1`, `layer2.0.downsample.0`, `fc`) -> `resnet*`, `resnext50_32x4d`."""
  out = {}
  conv_bn(tensors, out, ('stem',), 'conv1', 'bn1')
  for b, theirs in enumerate(_blocks(tensors, 'layer{}.{}', 'conv1.weight', 1)):
    ours, j = _sequential(b, 'blocks'), 1
    while f'{theirs}.conv{j}.weight' in tensors:
      conv_bn(tensors, out, (*ours, *_sequential(j - 1)), f'{theirs}.conv{j}', f'{theirs}.bn{j}')
      j += 1
    if f'{theirs}.downsample.0.weight' in tensors:
      conv_bn(tensors, out, (*ours, 'shortcut'), f'{theirs}.downsample.0', f'{theirs}.downsample.1')
  with_bias(tensors, out, ('head',), 'fc')
  return all_mapped(tensors, out, 'torchvision ResNet')


def mobilenet_v2(tensors: Tensors) -> Named:
  """MobileNetV2 (`features.3.conv.1.0`, `classifier.1`) -> `mobilenet_v2`."""
  out = {}
  conv_bn(tensors, out, _sequential(0), 'features.0.0', 'features.0.1')
  block = 1
  while f'features.{block}.conv.0.0.weight' in tensors:
    theirs, ours = f'features.{block}.conv', _sequential(block)
    expands = f'{theirs}.3.weight' in tensors  # Expansion 1 has no 1x1 expansion.
    pairs = [('0.0', '0.1'), ('1.0', '1.1'), ('2', '3')] if expands else [('0.0', '0.1'), ('1', '2')]
    for j, (c, bn) in enumerate(pairs):
      conv_bn(tensors, out, (*ours, *_sequential(j)), f'{theirs}.{c}', f'{theirs}.{bn}')
    block += 1
  conv_bn(tensors, out, _sequential(block), f'features.{block}.0', f'features.{block}.1')
  with_bias(tensors, out, ('head',), 'classifier.1')
  return all_mapped(tensors, out, 'torchvision MobileNetV2')


def efficientnet(tensors: Tensors) -> Named:
  """EfficientNet-B0..B3 (`features.2.1.block.2.fc1`, `classifier.1`) -> `efficientnet_b*`."""
  out = {}
  conv_bn(tensors, out, _sequential(0), 'features.0.0', 'features.0.1')
  blocks = list(_blocks(tensors, 'features.{}.{}.block', '0.0.weight', 1))
  for b, theirs in enumerate(blocks, start=1):
    j = 0
    while f'{theirs}.{j}.0.weight' in tensors or f'{theirs}.{j}.fc1.weight' in tensors:
      ours = (*_sequential(b), *_sequential(j))
      if f'{theirs}.{j}.fc1.weight' in tensors:  # Squeeze-excite.
        with_bias(tensors, out, (*ours, 'reduce'), f'{theirs}.{j}.fc1')
        with_bias(tensors, out, (*ours, 'expand'), f'{theirs}.{j}.fc2')
      else:
        conv_bn(tensors, out, ours, f'{theirs}.{j}.0', f'{theirs}.{j}.1')
      j += 1
  head = f'features.{_last_index(tensors, "features")}'
  conv_bn(tensors, out, _sequential(len(blocks) + 1), f'{head}.0', f'{head}.1')
  with_bias(tensors, out, ('head',), 'classifier.1')
  return all_mapped(tensors, out, 'torchvision EfficientNet')


def mnasnet(tensors: Tensors) -> Named:
  """MnasNet (`layers.9.0.layers.3`, `classifier.1`; ReLUs hold indices too) -> `mnasnet1_0`."""
  out = {}
  triple = ((0, 1), (3, 4), (6, 7))  # (convolution, batch norm) indices of the stem and of each block.
  for j, (c, bn) in enumerate(triple):
    conv_bn(tensors, out, _sequential(j), f'layers.{c}', f'layers.{bn}')
  blocks = list(_blocks(tensors, 'layers.{}.{}.layers', '0.weight', 8))
  for b, theirs in enumerate(blocks, start=3):
    for j, (c, bn) in enumerate(triple):
      conv_bn(tensors, out, (*_sequential(b), *_sequential(j)), f'{theirs}.{c}', f'{theirs}.{bn}')
  bn = _last_index(tensors, 'layers')  # The last 1x1 convolution's batch norm.
  conv_bn(tensors, out, _sequential(len(blocks) + 3), f'layers.{bn - 1}', f'layers.{bn}')
  with_bias(tensors, out, ('head',), 'classifier.1')
  return all_mapped(tensors, out, 'torchvision MnasNet')


def shufflenet_v2(tensors: Tensors) -> Named:
  """ShuffleNetV2 (`stage2.0.branch1.0`, `stage3.1.branch2.5`, `conv5.0`, `fc`) -> `shufflenet_v2_x1_0`."""
  out = {}
  conv_bn(tensors, out, ('stem',), 'conv1.0', 'conv1.1')
  blocks = list(_blocks(tensors, 'stage{}.{}', 'branch2.0.weight', 2))
  for b, theirs in enumerate(blocks):
    ours = _sequential(b, 'blocks')
    if f'{theirs}.branch1.0.weight' in tensors:  # Strided: the left branch is computed too.
      for j, (c, bn) in enumerate(((0, 1), (2, 3))):
        conv_bn(tensors, out, (*ours, *_sequential(j, 'left')), f'{theirs}.branch1.{c}', f'{theirs}.branch1.{bn}')
    for j, (c, bn) in enumerate(((0, 1), (3, 4), (5, 6))):
      conv_bn(tensors, out, (*ours, *_sequential(j, 'right')), f'{theirs}.branch2.{c}', f'{theirs}.branch2.{bn}')
  conv_bn(tensors, out, _sequential(len(blocks), 'blocks'), 'conv5.0', 'conv5.1')
  with_bias(tensors, out, ('head',), 'fc')
  return all_mapped(tensors, out, 'torchvision ShuffleNetV2')


def densenet(tensors: Tensors) -> Named:
  """DenseNet (`features.denseblock2.denselayer3.conv1`, `features.transition2.norm`) -> `densenet121`."""
  out = {}
  conv_bn(tensors, out, ('stem',), 'features.conv0', 'features.norm0')
  s, block = 0, 1
  while f'features.denseblock{block}.denselayer1.conv1.weight' in tensors:
    layer = 1
    while f'features.denseblock{block}.denselayer{layer}.conv1.weight' in tensors:
      theirs = f'features.denseblock{block}.denselayer{layer}'
      for j in (1, 2):
        ours = ('stages', str(s), 'layers', str(layer - 1), 'layers', str(j - 1))
        conv_bn(tensors, out, ours, f'{theirs}.conv{j}', f'{theirs}.norm{j}')
      layer += 1
    s += 1
    if f'features.transition{block}.conv.weight' in tensors:
      conv_bn(tensors, out, ('stages', str(s)), f'features.transition{block}.conv', f'features.transition{block}.norm')
      s += 1
    block += 1
  batch_norm(tensors, out, ('norm',), 'features.norm5')
  with_bias(tensors, out, ('head',), 'classifier')
  return all_mapped(tensors, out, 'torchvision DenseNet')


def googlenet(tensors: Tensors) -> Named:
  """GoogLeNet without auxiliary classifiers (`inception4a.branch2.1.conv`) -> `googlenet`."""
  out = {}
  for i, name in enumerate(('conv1', 'conv2', 'conv3')):
    conv_bn(tensors, out, ('stem', str(i)), f'{name}.conv', f'{name}.bn')
  names = iter(('3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'))
  for i, module in enumerate(GOOGLENET):
    if isinstance(module, str):  # A pooling.
      continue
    theirs, ours = f'inception{next(names)}', ('inceptions', str(i))
    conv_bn(tensors, out, (*ours, 'b1'), f'{theirs}.branch1.conv', f'{theirs}.branch1.bn')
    for branch in ('2', '3'):
      for j in (0, 1):
        layer = f'{theirs}.branch{branch}.{j}'
        conv_bn(tensors, out, (*ours, *_sequential(j, f'b{branch}')), f'{layer}.conv', f'{layer}.bn')
    conv_bn(tensors, out, (*ours, 'b4'), f'{theirs}.branch4.1.conv', f'{theirs}.branch4.1.bn')
  with_bias(tensors, out, ('head',), 'fc')
  return all_mapped(tensors, out, 'torchvision GoogLeNet (aux_logits=False)')


def vgg16(tensors: Tensors) -> Named:
  """VGG16 (`features.28`, `classifier.0/3/6`; ReLUs hold indices too) -> `vgg16`; the first
  linear layer's inputs reordered from torch's flattened (C, H, W) to skinjax's (H, W, C)."""
  out, theirs = {}, 0
  for i, v in enumerate(VGG16):
    if v != 'M':
      with_bias(tensors, out, ('convs', str(i)), f'features.{theirs}')
    theirs += 1 if v == 'M' else 2
  w = tensors['classifier.0.weight']
  out['fc1', 'kernel'] = w.reshape(len(w), -1, 7, 7).transpose(2, 3, 1, 0).reshape(-1, len(w))
  out['fc1', 'bias'] = tensors['classifier.0.bias']
  with_bias(tensors, out, ('fc2',), 'classifier.3')
  with_bias(tensors, out, ('head',), 'classifier.6')
  return all_mapped(tensors, out, 'torchvision VGG16')


def squeezenet(tensors: Tensors) -> Named:
  """SqueezeNet 1.1 (`features.0`, `features.3.expand3x3`, `classifier.1`) -> `squeezenet1_1`."""
  out = {}
  with_bias(tensors, out, ('stem',), 'features.0')
  for i in range(10):  # Our `fires` (poolings included) are torch's `features` from index 3.
    for theirs, mine in (('squeeze', 'squeeze'), ('expand1x1', 'expand1'), ('expand3x3', 'expand3')):
      if f'features.{i + 3}.{theirs}.weight' in tensors:
        with_bias(tensors, out, ('fires', str(i), mine), f'features.{i + 3}.{theirs}')
  out['head', 'kernel'] = tensors['classifier.1.weight'][:, :, 0, 0].T  # A 1x1 convolution.
  out['head', 'bias'] = tensors['classifier.1.bias']
  return all_mapped(tensors, out, 'torchvision SqueezeNet 1.1')


# Network name -> its table.
TABLES = {
  **{name: resnet for name in ('resnet18', 'resnet34', 'resnet50', 'resnext50_32x4d')},
  'mobilenet_v2': mobilenet_v2,
  **{f'efficientnet_b{i}': efficientnet for i in range(4)},
  'mnasnet1_0': mnasnet,
  'shufflenet_v2_x1_0': shufflenet_v2,
  'densenet121': densenet,
  'googlenet': googlenet,
  'vgg16': vgg16,
  'squeezenet1_1': squeezenet,
}
