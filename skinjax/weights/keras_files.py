"""Weights from Keras Applications models saved by the user (`.keras`, or legacy `.h5`), read with
Keras in safe mode (no deserialised Python code runs) and mapped to skinjax's names by an
explicit table per network."""

import numpy as np


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
