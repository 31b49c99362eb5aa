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
  config.dataset.sampling = 'uniform'
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
  info, _, sources = input_pipeline.get_datasets(config.dataset, 16, 0)
  batches = list(input_pipeline.eval_batches(sources['test'], config.dataset, info.features, 16))
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
  batch = next(it)
  assert batch['image'].shape == (8, 32, 32, 3)
  assert batch['metadata'].shape == (8, 2 + 3 + 9)  # Age and its missing flag, sex, site.


def test_resize_crops_or_pads_to_a_square():
  image = np.zeros((30, 60, 3), np.uint8)
  image[:, 20:40] = 200  # A bright band in the middle third.
  crop = input_pipeline.resize(image, 20, 'crop')
  pad = input_pipeline.resize(image, 20, 'pad')
  assert crop.shape == pad.shape == (20, 20, 3)
  assert crop[:, 5:15].min() > 150 and crop[:, :3].max() < 50  # The centre, at full height.
  assert pad[:4].max() == 0 and pad[-4:].max() == 0 and pad[10, 10, 0] > 150  # Letterboxed.


def _augment_config(**on):
  config = tiny_config('/unused').dataset.augment
  for name in config:
    config[name].p = 0.0
  for name, p in on.items():
    config[name].p = p
  return config


def test_each_augmentation_is_switched_by_its_probability():
  image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
  rng = lambda: np.random.default_rng(3)  # noqa: E731
  np.testing.assert_array_equal(input_pipeline.augment(image, rng(), _augment_config()), image)
  for name in ('crop', 'rotate', 'shift', 'zoom', 'hflip', 'vflip', 'rot90', 'brightness', 'contrast', 'saturation'):
    out = input_pipeline.augment(image, rng(), _augment_config(**{name: 1.0}))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image), name
    np.testing.assert_array_equal(out, input_pipeline.augment(image, rng(), _augment_config(**{name: 1.0})))
  flipped = input_pipeline.augment(image, rng(), _augment_config(hflip=1.0))
  np.testing.assert_array_equal(flipped, image[:, ::-1])


def test_affine_rotates_about_the_centre_and_shifts():
  image = np.zeros((33, 33, 3), np.uint8)
  image[16, 16:] = 255  # A ray from the centre to the right.
  turned = input_pipeline._affine(image, 90.0, (0.0, 0.0), 1.0)
  assert turned[2:14, 16].min() > 100 and turned[16, 20:].max() == 0  # Now it points up.
  shifted = input_pipeline._affine(image, 0.0, (0.0, 0.25), 1.0)
  assert shifted[24, 20:30].min() > 100  # A quarter of the side lower.
  zoomed = input_pipeline._affine(image, 0.0, (0.0, 0.0), 2.0)
  assert zoomed[16, 16:].min() > 100 and (zoomed > 0).sum() > 1.8 * (image > 0).sum()  # Twice as thick.


def test_class_weights():
  counts = np.array([900, 100])
  np.testing.assert_allclose(input_pipeline.class_weights(counts, 'none'), [1, 1])
  inverse = input_pipeline.class_weights(counts, 'inverse')
  np.testing.assert_allclose(inverse[1] / inverse[0], 9.0, rtol=1e-6)
  assert np.isclose((inverse * counts).sum() / counts.sum(), 1.0)  # Mean weight over the data: 1.
  effective = input_pipeline.class_weights(counts, 'effective', beta=0.99)
  ratio = (1 - 0.99**900) / (1 - 0.99**100)
  np.testing.assert_allclose(effective[1] / effective[0], ratio, rtol=1e-6)
  with pytest.raises(ValueError, match="class_weights is 'inverted'"):
    input_pipeline.class_weights(counts, 'inverted')
  np.testing.assert_allclose(input_pipeline.class_weights(counts, '1,3.0'), [1, 3])
  with pytest.raises(ValueError, match='has 3 values; the data set has 2 classes'):
    input_pipeline.class_weights(counts, '1,2,3')


def _order(labels, batch=10, **fields):
  config = tiny_config('/unused').dataset
  config.sampling = 'uniform'
  for k, v in fields.items():
    config[k] = v
  return input_pipeline.EpochOrder(np.array(labels), config, ('benign', 'malignant'), batch, seed=0)


def test_uniform_order_is_a_new_permutation_every_epoch():
  order = _order([0] * 90 + [1] * 10)
  assert sorted(order.epoch(0)) == list(range(100)) and not np.array_equal(order.epoch(0), order.epoch(1))
  assert [order[i] for i in range(100, 110)] == list(order.epoch(1)[:10])


def test_oversampling_reaches_the_target_ratios():
  labels = np.array([0] * 90 + [1] * 10)
  order = _order(labels, sampling='oversample', class_ratios=(0.5, 0.5))
  epoch = order.epoch(0)
  assert len(epoch) == 100 and (labels[epoch] == 1).sum() == 50
  assert set(epoch[labels[epoch] == 1]) == set(range(90, 100))  # Every malignant image, 5 times.


def test_balanced_batches_hold_the_set_positive_fraction():
  labels = np.array([0] * 95 + [1] * 5)
  epoch = _order(labels, batch=10, sampling='balanced_batches', positive_fraction=0.3).epoch(2)
  assert [int(labels[epoch[i : i + 10]].sum()) for i in range(0, 100, 10)] == [3] * 10


def test_rare_classes_are_expanded_with_crop_and_mirror_copies():
  labels = [0] * 20 + [1] * 4
  order = _order(labels, expand={'malignant': 8})
  epoch = order.epoch(0)
  assert len(epoch) == 24 + 4 * 8
  copies = epoch[epoch >= 24]
  assert sorted(set(copies % 24)) == [20, 21, 22, 23] and sorted(set(copies // 24)) == list(range(1, 9))
  with pytest.raises(ValueError, match=r"dataset.expand names classes \['df'\]"):
    _order(labels, expand={'df': 2})


def test_metadata_encoding_has_an_unknown_slot_for_everything(data_dir):
  config = tiny_config(data_dir)
  info, _, _ = input_pipeline.get_datasets(config.dataset, 16, 0)
  features = info.features
  known = {'age': 45, 'sex': features['sex'].str2int('female'), 'site': 0}
  unknown = {'age': -1, 'sex': features['sex'].str2int('unknown'), 'site': features['site'].num_classes - 1}
  a, b = (input_pipeline.encode_metadata(e, features) for e in (known, unknown))
  np.testing.assert_allclose(a[:2], [0.45, 0.0])
  np.testing.assert_allclose(b[:2], [0.0, 1.0])
  assert a[2:].sum() == b[2:].sum() == 2.0 and not np.array_equal(a, b)


def test_metadata_dropout_hides_whole_records(data_dir):
  config = tiny_config(data_dir)
  config.dataset.metadata_dropout = 0.5
  info, it, _ = input_pipeline.get_datasets(config.dataset, 16, 0)
  hidden = input_pipeline.unknown_metadata(info.features)
  rows = np.concatenate([next(it)['metadata'] for _ in range(6)])
  is_hidden = (rows == hidden).all(1)
  assert 0.3 < is_hidden.mean() < 0.7, is_hidden.mean()
  assert rows[~is_hidden][:, 1].mean() < 0.2  # The others keep their (mostly known) age.
