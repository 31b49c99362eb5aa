"""Weights from Keras Applications models saved by the user (`.keras`, or legacy `.h5`), read with
Keras in safe mode (no deserialised Python code runs) and mapped to skinjax's names by an
explicit table per network."""

import re

import numpy as np
from flax import nnx

from skinjax import models
from skinjax.models.layers import ConvBN
from skinjax.weights.assign import path_names


def read(path: str) -> dict[str, list[np.ndarray]]:
  """{layer name: its weights} of the Keras model saved at `path`."""
  import keras  # TensorFlow's Keras 3; imported here, as it is slow to import.

  model = keras.saving.load_model(path, compile=False, safe_mode=True)
  return {layer.name: [np.asarray(w) for w in layer.weights] for layer in model.layers if layer.weights}


def _conv_bn(layers, out: dict, ours: tuple, conv: str, bn: str, depthwise: bool = False) -> None:
  kernel = layers[conv][0]
  out[(*ours, 'conv', 'kernel')] = kernel[:, :, :, 0] if depthwise else kernel  # Keras is HWIO too.
  gamma, beta, mean, var = layers[bn]
  out[(*ours, 'norm', 'scale')], out[(*ours, 'norm', 'bias')] = gamma, beta
  out[(*ours, 'norm', 'mean')], out[(*ours, 'norm', 'var')] = mean, var


def mobilenet_v1(layers: dict[str, list[np.ndarray]]) -> dict[tuple[str, ...], np.ndarray]:
  """keras.applications.MobileNet (alpha 1) -> skinjax's `mobilenet_v1`."""
  out = {}
  _conv_bn(layers, out, ('layers', 'layers', '0'), 'conv1', 'conv1_bn')
  for i in range(1, 14):
    block = ('layers', 'layers', str(i))
    _conv_bn(layers, out, (*block, 'depthwise'), f'conv_dw_{i}', f'conv_dw_{i}_bn', depthwise=True)
    _conv_bn(layers, out, (*block, 'pointwise'), f'conv_pw_{i}', f'conv_pw_{i}_bn')
  if 'conv_preds' in layers:  # Absent when saved with include_top=False.
    kernel, bias = layers['conv_preds']
    out['head', 'kernel'], out['head', 'bias'] = kernel[0, 0], bias
  return out


def _numbered(layers: dict, prefix: str) -> list[str]:
  """Keras' automatic names `prefix`, `prefix_1`, ... in the order the layers were made."""
  names = [n for n in layers if re.fullmatch(rf'{prefix}(_\d+)?', n)]
  return sorted(names, key=lambda n: int(n.rsplit('_', 1)[1]) if n != prefix else 0)


def inception_v3(layers: dict[str, list[np.ndarray]]) -> dict[tuple[str, ...], np.ndarray]:
  """keras.applications.InceptionV3 -> skinjax's `inception_v3`. Keras leaves its convolutions
  unnamed, so they are paired by the order both networks make them (the same, checked by count)."""
  abstract = nnx.eval_shape(lambda: models.build('inception_v3', num_classes=1, rngs=nnx.Rngs(0)))
  ours = [path_names(path) for path, node in nnx.iter_graph(abstract) if isinstance(node, ConvBN)]
  convs, norms = _numbered(layers, 'conv2d'), _numbered(layers, 'batch_normalization')
  if not len(ours) == len(convs) == len(norms):
    raise ValueError(f'Expected {len(ours)} convolutions and batch norms; the file has {len(convs)} and {len(norms)}.')
  out = {}
  for path, conv, norm in zip(ours, convs, norms, strict=True):
    out[(*path, 'conv', 'kernel')] = layers[conv][0]
    out[(*path, 'norm', 'bias')], out[(*path, 'norm', 'mean')], out[(*path, 'norm', 'var')] = layers[norm]
  if 'predictions' in layers:
    out['head', 'kernel'], out['head', 'bias'] = layers['predictions']
  return out


def by_name(layers: dict[str, list[np.ndarray]]) -> dict[tuple[str, ...], np.ndarray]:
  """A Keras network whose skinjax port keeps Keras' layer names (`nasnet_mobile`): convolutions,
  separable convolutions and batch norms under `layers/<name>`, the classifier as `head`."""
  out = {}
  for name, w in layers.items():
    if name == 'predictions':
      out['head', 'kernel'], out['head', 'bias'] = w
    elif len(w) == 1:  # Conv2D.
      out['layers', name, 'kernel'] = w[0]
    elif len(w) == 2:  # SeparableConv2D: depthwise (k, k, C, 1), pointwise (1, 1, C, O).
      out['layers', name, 'depthwise', 'kernel'] = w[0][:, :, :, 0]
      out['layers', name, 'pointwise', 'kernel'] = w[1]
    else:  # BatchNormalization.
      for key, value in zip(('scale', 'bias', 'mean', 'var'), w, strict=True):
        out['layers', name, key] = value
  return out
