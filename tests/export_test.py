"""skinjax.export: TensorFlow Lite and ONNX models give JAX's probabilities on real images."""

import json

import numpy as np
import pytest
from conftest import SHARED, run_module

from skinjax import export, input_pipeline, predict

HAM10000 = SHARED / 'data' / 'isic2018_task3_subset'


def _images(predictor, run_dir) -> list[np.ndarray]:
  """Real HAM10000 dermoscopy images where ../shared is present, else synthetic test lesions."""
  files = sorted(HAM10000.rglob('*.jpg'))[:6] if HAM10000.is_dir() else []
  if files:
    return [predictor.image(str(f)) for f in files]
  source = input_pipeline.get_builder(predictor.run.config.dataset).as_data_source(split='test')
  return [source[i]['image'] for i in range(6)]


@pytest.fixture(scope='module')
def predictor(trained_run):
  return predict.Predictor(trained_run)


@pytest.mark.parametrize('fmt', export.FORMATS)
def test_exported_probabilities_equal_jax(trained_run, predictor, fmt):
  path = export.export(trained_run, fmt)
  exported = export.load(path)
  metadata = predictor.metadata(age=45, sex='male', site='posterior torso')[None]
  for image in _images(predictor, trained_run):
    expected = predictor.probabilities(image[None], metadata)
    np.testing.assert_allclose(exported(image[None].astype(np.float32), metadata), expected, atol=1e-4)
  description = json.loads((path.parent / 'model.json').read_text())
  assert description['inputs'] == {'image': [1, 32, 32, 3], 'metadata': [1, metadata.shape[1]]}
  assert description['class_names'] == ['benign', 'malignant']
  assert 'Not a medical device' in (path.parent / 'model_card.md').read_text()


def test_command_line(trained_run):
  result = run_module('skinjax.export', f'--workdir={trained_run}', '--format=onnx')
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'{trained_run}/export/model.onnx (' in result.stdout
