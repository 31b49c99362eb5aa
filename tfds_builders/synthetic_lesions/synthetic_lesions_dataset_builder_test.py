"""Tests of the synthetic_lesions builder: counts, determinism, class balance, difficulty."""

import collections
import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tfds_builders.synthetic_lesions import Builder, Config, draw
from tfds_builders.synthetic_lesions.synthetic_lesions_dataset_builder import diagnoses

SIZES = dict(num_train=70, num_validation=10, num_test=20)


def build(tmp_path, **kwargs):
  builder = Builder(config=Config.make(**{**SIZES, 'image_size': 24, **kwargs}), data_dir=tmp_path)
  builder.download_and_prepare(file_format='array_record')
  return builder


@pytest.fixture(scope='module')
def binary(tmp_path_factory):
  return build(tmp_path_factory.mktemp('binary'))


def test_split_sizes_and_features(binary):
  for split, n in zip(('train', 'validation', 'test'), SIZES.values(), strict=True):
    source = binary.as_data_source(split=split)
    assert len(source) == n
  example = binary.as_data_source(split='train')[0]
  assert example['image'].shape == (24, 24, 3) and example['image'].dtype == np.uint8
  assert binary.info.features['label'].names == ['benign', 'malignant']
  assert binary.info.features['site'].names[:-1] == list(draw.SITES)


def test_labels_follow_diagnoses(binary):
  dx_names = binary.info.features['dx'].names
  for example in binary.as_data_source(split='train'):
    assert example['label'] == int(dx_names[example['dx']] in draw.MALIGNANT)


def test_deterministic_by_seed(tmp_path, binary):
  again = build(tmp_path / 'again')
  other_seed = build(tmp_path / 'other', seed=1)

  def images(b):
    source = b.as_data_source(split='test')
    return {e['image_id']: e['image'] for e in source}

  first = images(binary)
  assert all(np.array_equal(first[k], v) for k, v in images(again).items())
  assert not all(np.array_equal(first[k], v) for k, v in images(other_seed).items())


def test_seven_class_has_ham10000_proportions(tmp_path):
  builder = build(tmp_path, labels='seven_class', num_train=200, num_validation=7, num_test=7)
  assert builder.info.features['label'].names == list(draw.DIAGNOSES)
  counts = collections.Counter(int(e['label']) for e in builder.as_data_source(split='train'))
  expected = np.asarray(draw.HAM10000_COUNTS) / sum(draw.HAM10000_COUNTS) * 200
  assert sum(counts.values()) == 200
  for k, n in enumerate(expected):
    assert abs(counts[k] - n) < 1, (draw.DIAGNOSES[k], counts[k], n)


def test_diagnoses_are_exact_and_seeded():
  a, b = diagnoses(1000, seed=(0, 0)), diagnoses(1000, seed=(0, 1))
  assert collections.Counter(a) == collections.Counter(b)
  assert a != b and a == diagnoses(1000, seed=(0, 0))


def test_metadata_correlates_with_class_but_does_not_determine_it():
  rng = np.random.default_rng(0)
  ages = {dx: [draw.sample_metadata(rng, dx).age for _ in range(400)] for dx in ('nv', 'bcc')}
  known = {dx: np.array([a for a in v if a >= 0]) for dx, v in ages.items()}
  assert known['bcc'].mean() - known['nv'].mean() > 10  # Correlates...
  assert np.mean(known['bcc'] < np.percentile(known['nv'], 75)) > 0.1  # ...but overlaps.
  assert 0 < np.mean(np.array(ages['nv']) < 0) < 0.1  # Sometimes unknown.
  sites = {draw.sample_metadata(rng, 'mel').site for _ in range(400)}
  assert sites <= set(draw.SITES) | {'unknown'} and len(sites) >= 7


def _colour_statistics(n: int, split_id: int, size: int):
  features, labels = [], []
  for i, dx in enumerate(diagnoses(n, seed=(0, split_id))):
    pixels = draw.draw_lesion(np.random.default_rng((0, split_id, i)), dx, size).reshape(-1, 3) / 255
    features.append(np.concatenate([pixels.mean(0), pixels.std(0)]))
    labels.append(dx in draw.MALIGNANT)
  return np.array(features), np.array(labels)


def test_colour_statistics_alone_do_not_separate_the_classes():
  """A CNN that beats this learned shape and texture, not the mean colour of an image."""
  x_train, y_train = _colour_statistics(2000, 0, 48)
  x_test, y_test = _colour_statistics(800, 2, 48)
  model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
  auroc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
  assert 0.55 < auroc < 0.75, auroc


def test_builds_and_reads_without_tensorflow(tmp_path):
  script = f"""
import sys
import grain
from tfds_builders.synthetic_lesions import Builder, Config
config = Config.make(image_size=16, num_train=8, num_validation=2, num_test=2)
builder = Builder(config=config, data_dir={str(tmp_path)!r})
builder.download_and_prepare(file_format='array_record')
batch = next(iter(grain.MapDataset.source(builder.as_data_source(split='train')).batch(4)))
assert batch['image'].shape == (4, 16, 16, 3), batch['image'].shape
assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'
print(sorted(p.name for p in builder.data_path.iterdir()))
"""
  result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'synthetic_lesions-train.array_record-00000-of-00001' in result.stdout
