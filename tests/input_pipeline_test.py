"""The grain pipelines and dataset preparation."""

import io

import numpy as np
import pytest
from conftest import SHARED, tiny_config
from PIL import Image

from skinjax import input_pipeline


def _batches(it, n):
  return [next(it) for _ in range(n)]


def test_same_seed_same_batches(data_dir):
  config = tiny_config(data_dir)
  runs = [input_pipeline.get_datasets(config.dataset, 16, seed)[1] for seed in (0, 0, 1)]
  a, b, c = (_batches(it, 8) for it in runs)  # 8 batches of 16 cross an epoch of 96.
  for x, y in zip(a, b, strict=True):
    np.testing.assert_array_equal(x['image'], y['image'])
    np.testing.assert_array_equal(x['image_id'], y['image_id'])
  assert any(not np.array_equal(x['image_id'], z['image_id']) for x, z in zip(a, c, strict=True))
  # Every epoch is a permutation of the split, and epochs differ in order.
  first, second = np.concatenate([x['image_id'] for x in a[:6]]), np.concatenate([x['image_id'] for x in a[6:]])
  assert len(set(first)) == 96 and not np.array_equal(first[:32], second)


def test_iterator_state_restores_the_next_batch(data_dir):
  config = tiny_config(data_dir)
  _, it, _ = input_pipeline.get_datasets(config.dataset, 16, 0)
  _batches(it, 3)
  state = it.get_state()
  expected = _batches(it, 2)
  _, fresh, _ = input_pipeline.get_datasets(config.dataset, 16, 0)
  fresh.set_state(state)
  for x, y in zip(expected, _batches(fresh, 2), strict=True):
    np.testing.assert_array_equal(x['image'], y['image'])


def test_eval_batches_cover_each_example_once(data_dir):
  config = tiny_config(data_dir)
  _, _, sources = input_pipeline.get_datasets(config.dataset, 16, 0)
  batches = list(input_pipeline.eval_batches(sources['test'], config.dataset, 16))
  assert len(batches) == 3 and all(b['image'].shape == (16, 32, 32, 3) for b in batches)
  ids = np.concatenate([b['image_id'][b['mask'] > 0] for b in batches])
  assert sorted(ids) == sorted(e['image_id'] for e in sources['test'])
  assert sum(b['mask'].sum() for b in batches) == 40


def test_unknown_dataset_and_split(data_dir):
  config = tiny_config(data_dir)
  config.dataset.name = 'isic2099'
  with pytest.raises(ValueError, match='Unknown dataset .isic2099.'):
    input_pipeline.get_builder(config.dataset)
  config = tiny_config(data_dir)
  config.dataset.eval_splits = ('valid',)
  with pytest.raises(ValueError, match=r"has no split \['valid'\]"):
    input_pipeline.get_datasets(config.dataset, 16, 0)


def _isic_config(tmp_path, manual_dir):
  config = tiny_config(tmp_path)
  config.dataset.name = 'cancernet_sca'
  config.dataset.builder_config = {}
  config.dataset.manual_dir = str(manual_dir)
  return config


def test_missing_manual_download_says_what_to_get(tmp_path):
  (tmp_path / 'manual').mkdir()
  (tmp_path / 'manual' / 'train_images.csv').write_text('ISIC_0000000.jpg,0\n')
  with pytest.raises(input_pipeline.DataNotFoundError) as error:
    input_pipeline.get_builder(_isic_config(tmp_path, tmp_path / 'manual').dataset)
  message = str(error.value)
  assert f'missing in {tmp_path / "manual"}: val_images.csv, test_images.csv, images/.' in message
  assert 'isic image download' in message


def _jpeg(colour) -> bytes:
  buffer = io.BytesIO()
  Image.new('RGB', (40, 30), colour).save(buffer, format='JPEG')
  return buffer.getvalue()


def test_cancernet_sca_builds_from_a_manual_download(tmp_path):
  manual = tmp_path / 'manual'
  (manual / 'images').mkdir(parents=True)
  for i in range(4):
    (manual / 'images' / f'ISIC_000000{i}.jpg').write_bytes(_jpeg((60 * i, 80, 90)))
  (manual / 'train_images.csv').write_text('ISIC_0000000.jpg,0\nISIC_0000001.jpg,1')
  (manual / 'val_images.csv').write_text('ISIC_0000002.jpg,0\n')
  (manual / 'test_images.csv').write_text('ISIC_0000003.jpg,1\n')
  config = _isic_config(tmp_path, manual)
  info, it, sources = input_pipeline.get_datasets(config.dataset, 2, 0)
  assert info.class_names == ('benign', 'malignant') and info.split_sizes == {'train': 2, 'validation': 1, 'test': 1}
  batch = next(it)
  assert batch['image'].shape == (2, 32, 32, 3)  # Resized to dataset.image_size.
  assert sorted(batch['label']) == [0, 1]


def test_cancernet_sca_names_the_bad_row(tmp_path):
  manual = tmp_path / 'manual'
  (manual / 'images').mkdir(parents=True)
  (manual / 'images' / 'ISIC_0000000.jpg').write_bytes(_jpeg((1, 2, 3)))
  (manual / 'train_images.csv').write_text('ISIC_0000000.jpg,0\nISIC_0000000.jpg,malignant\n')
  (manual / 'val_images.csv').write_text('ISIC_0000000.jpg,0\n')
  (manual / 'test_images.csv').write_text('ISIC_0000009.jpg,0\n')
  with pytest.raises(Exception, match=r'train_images.csv, row 2: expected `image_name.jpg,0\|1`'):
    input_pipeline.get_builder(_isic_config(tmp_path, manual).dataset)


@pytest.mark.skipif(not (SHARED / 'data' / 'isic2018_task3_subset').is_dir(), reason='needs ../shared/data')
def test_named_builder_config_reads_real_ham10000(tmp_path):
  config = tiny_config(tmp_path)
  config.dataset.name = 'isic2018_task3/lesion_split'
  config.dataset.builder_config = {}
  config.dataset.manual_dir = str(SHARED / 'data' / 'isic2018_task3_subset')
  config.dataset.eval_splits = ('validation',)
  info, it, sources = input_pipeline.get_datasets(config.dataset, 8, 0)
  assert info.class_names == ('akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc')
  assert info.num_train + len(sources['validation']) == 5984
  assert next(it)['image'].shape == (8, 32, 32, 3)
