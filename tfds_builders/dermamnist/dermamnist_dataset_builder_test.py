"""dermamnist from the shared `dermamnist.npz`: sizes, labels and lossless pixels."""

import numpy as np
import pytest

from tfds_builders import dermamnist, testing

NPZ = testing.SHARED / 'dermamnist'
pytestmark = pytest.mark.skipif(not NPZ.is_dir(), reason=f'needs the shared DermaMNIST at {NPZ}')


def test_builds_the_medmnist_splits_losslessly(tmp_path):
  builder = testing.build(dermamnist, NPZ, tmp_path)
  arrays = np.load(NPZ / 'dermamnist.npz')
  for split, prefix in (('train', 'train'), ('validation', 'val'), ('test', 'test')):
    source = builder.as_data_source(split=split)
    assert len(source) == len(arrays[f'{prefix}_labels'])
    example = next(e for e in source if e['image_id'] == f'{prefix}_00007'.encode())
    np.testing.assert_array_equal(example['image'], arrays[f'{prefix}_images'][7])
    assert example['label'] == arrays[f'{prefix}_labels'][7, 0]


def test_a_file_in_another_layout_is_named(tmp_path):
  np.savez(tmp_path / 'dermamnist.npz', train_images=np.zeros((2, 28, 28, 3), np.uint8))
  with pytest.raises(ValueError, match=r"dermamnist.npz: missing arrays \['train_labels', 'val_images'"):
    testing.build(dermamnist, tmp_path, tmp_path / 'tfds')
