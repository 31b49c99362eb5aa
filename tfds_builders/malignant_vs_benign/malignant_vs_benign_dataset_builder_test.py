"""malignant_vs_benign from a generated copy of the Kaggle class-folder layout."""

import collections

import pytest

from tfds_builders import malignant_vs_benign, testing


def manual(tmp_path, counts=(('benign', 30), ('malignant', 20))):
  for split in ('train', 'test'):
    for label, n in counts:
      testing.stand_ins(tmp_path / 'manual' / split / label, [f'{split}_{label}_{i}' for i in range(n)])
  return tmp_path / 'manual'


def test_stratified_validation_from_training(tmp_path):
  builder = testing.build(malignant_vs_benign, manual(tmp_path), tmp_path / 'tfds')
  counts = {s: collections.Counter(testing.column(builder, s, 'label')) for s in ('train', 'validation', 'test')}
  assert counts == {
    'train': {'benign': 24, 'malignant': 16},
    'validation': {'benign': 6, 'malignant': 4},
    'test': {'benign': 30, 'malignant': 20},
  }


def test_an_unexpected_folder_is_named(tmp_path):
  m = manual(tmp_path)
  (m / 'train' / 'unsure').mkdir()
  with pytest.raises(ValueError, match=r"train: holds folders \['benign', 'malignant', 'unsure'\]"):
    testing.build(malignant_vs_benign, m, tmp_path / 'tfds')
