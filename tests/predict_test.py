"""skinjax.predict: the same probabilities as evaluation, any image file, clear errors."""

import json

import numpy as np
import pytest
from conftest import run_module
from PIL import Image

from skinjax import evaluate, input_pipeline, predict


@pytest.fixture(scope='module')
def predictor(trained_run):
  return predict.Predictor(trained_run)


def test_same_probabilities_as_evaluation(trained_run, predictor, tmp_path):
  run = evaluate.load_run(trained_run)
  source = input_pipeline.get_builder(run.config.dataset).as_data_source(split='test')
  evaluated, _ = run.trainer.predict(run.state, source, run.config, run.info)
  features = run.info.features
  for i in range(8):
    example = source[i]
    path = tmp_path / f'{i}.png'
    Image.fromarray(example['image']).save(path)
    age = int(example['age'])
    metadata = predictor.metadata(
      None if age < 0 else age, features['sex'].int2str(example['sex']), features['site'].int2str(example['site'])
    )
    np.testing.assert_array_equal(metadata, input_pipeline.encode_metadata(example, features))
    probs = predictor.probabilities(predictor.image(str(path))[None], metadata[None])[0]
    np.testing.assert_allclose(probs, evaluated[i], atol=1e-5)


def test_command_line_predicts_every_readable_image(trained_run, tmp_path):
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, (80, 100, 3), np.uint8)).save(tmp_path / 'wide.jpg')
  Image.fromarray(rng.integers(0, 256, (300, 200, 4), np.uint8), 'RGBA').save(tmp_path / 'alpha.png')
  Image.fromarray(rng.integers(0, 256, (50, 50), np.uint8), 'L').save(tmp_path / 'grey.bmp')
  (tmp_path / 'notes.jpg').write_text('not an image')
  files = [tmp_path / n for n in ('wide.jpg', 'notes.jpg', 'alpha.png', 'missing.png', 'grey.bmp')]
  result = run_module('skinjax.predict', f'--workdir={trained_run}', '--json', '--age=70', *map(str, files))
  assert result.returncode == 1, result.stderr[-2000:]
  assert f'{tmp_path}/notes.jpg: not a readable image' in result.stderr
  assert f'{tmp_path}/missing.png: cannot be read (No such file or directory)' in result.stderr
  assert '2 of 5 files could not be read' in result.stderr
  predictions = json.loads(result.stdout)
  assert [p['image'] for p in predictions] == [str(files[i]) for i in (0, 2, 4)]
  for p in predictions:
    assert [t['class'] for t in p['top']] in (['benign', 'malignant'], ['malignant', 'benign'])
    assert sum(t['probability'] for t in p['top']) == pytest.approx(1.0, abs=1e-5)


def test_metadata_outside_the_vocabulary_is_refused(predictor):
  with pytest.raises(ValueError, match=r"site='back'; expected one of \["):
    predictor.metadata(site='back')
  with pytest.raises(ValueError, match=r'age=130; expected years in 0-'):
    predictor.metadata(age=130)
