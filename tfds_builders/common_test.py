"""The checks every builder shares: image formats, bad files, grouped splits, the skip policy."""

import io

import numpy as np
import pytest
from etils import epath
from PIL import Image

from tfds_builders import common, isic2016, testing
from tfds_builders.isic2016.isic2016_dataset_builder import PARTS


def _encoded(image: Image.Image, fmt: str, **save) -> bytes:
  out = io.BytesIO()
  image.save(out, fmt, **save)
  return out.getvalue()


GRADIENT = np.linspace(0, 255, 6 * 4 * 3).reshape(6, 4, 3).astype(np.uint8)  # 6 high, 4 wide.


@pytest.mark.parametrize(
  'data',
  [
    _encoded(Image.fromarray(GRADIENT), 'PNG'),
    _encoded(Image.fromarray(GRADIENT).convert('L'), 'PNG'),
    _encoded(Image.fromarray(GRADIENT).convert('RGBA'), 'PNG'),
    _encoded(Image.fromarray(GRADIENT).convert('P'), 'PNG'),
    _encoded(Image.fromarray(GRADIENT).convert('CMYK'), 'JPEG'),
    _encoded(Image.fromarray(GRADIENT[..., 0].astype(np.uint16) * 257), 'PNG'),  # 16-bit grey.
  ],
  ids=['rgb_png', 'grey_png', 'rgba_png', 'palette_png', 'cmyk_jpeg', 'grey16_png'],
)
def test_any_format_becomes_rgb_uint8(data):
  image = np.asarray(common.load_image(data, 'x'))
  assert image.shape == (6, 4, 3) and image.dtype == np.uint8
  assert image[0].mean() < image[-1].mean()  # Not scrambled: dark at the top, light below.


def test_sixteen_bits_are_scaled_not_clipped():
  data = _encoded(Image.fromarray(np.full((2, 2), 65535, np.uint16)), 'PNG')
  assert np.asarray(common.load_image(data, 'x')).min() == 255


def test_exif_orientation_is_applied():
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotated 90 degrees clockwise when shown.
  data = _encoded(Image.fromarray(GRADIENT), 'JPEG', exif=exif.tobytes())
  assert common.load_image(data, 'x').size == (6, 4)  # Upright: 6 wide, 4 high.


def test_encode_keeps_good_jpegs_and_resizes_large_ones(tmp_path):
  path = tmp_path / 'a.jpg'
  path.write_bytes(testing.jpeg(size=(60, 40)))
  assert common.encode(epath.Path(path), 'x') == path.read_bytes()  # No second lossy encoding.
  assert Image.open(io.BytesIO(common.encode(epath.Path(path), 'x', image_size=20))).size == (30, 20)
  assert Image.open(io.BytesIO(common.encode(epath.Path(path), 'x', image_size=50))).size == (60, 40)


@pytest.mark.parametrize(
  'data, expected',
  [
    (b'', r'empty file \(0 bytes\)'),
    (testing.jpeg(size=(64, 64))[:300], 'not a readable image'),  # Truncated.
    (b'<html>not found</html>', 'not a readable image'),
  ],
  ids=['zero_bytes', 'truncated', 'not_an_image'],
)
def test_bad_bytes_are_named(data, expected):
  with pytest.raises(common.BadInput, match=f'^train.csv, row 3: {expected}'):
    common.load_image(data, 'train.csv, row 3')


def test_huge_images_are_refused_before_decoding(monkeypatch):
  monkeypatch.setattr(common, 'MAX_PIXELS', 100)
  with pytest.raises(common.BadInput, match=r'x: 64x64 pixels, more than the 100 allowed .*decompression bomb'):
    common.load_image(testing.jpeg(size=(64, 64)), 'x')


def test_grouped_split_joins_lesions_and_patients():
  def record(i, lesion='', patient='', label='benign'):
    return common.Record(
      image=None, label=label, image_id=f'i{i}', where='', source='', lesion_id=lesion, patient_id=patient
    )

  # i0-i1 share a lesion, i1-i2 a patient: one group of three, whatever the seed.
  records = [record(0, 'L0'), record(1, 'L0', 'P0'), record(2, '', 'P0', 'malignant')]
  records += [record(i, label='malignant' if i % 4 == 0 else 'benign') for i in range(3, 40)]
  for seed in range(10):
    split = common.grouped_split(records, {'validation': 0.25, 'train': 0.75}, seed)
    sides = [{r.image_id for r in split[s]} for s in ('validation', 'train')]
    assert {'i0', 'i1', 'i2'} <= sides[0] or {'i0', 'i1', 'i2'} <= sides[1]
    assert sum(map(len, sides)) == 40 and 7 <= len(sides[0]) <= 13


@testing.needs_shared
def test_bad_images_stop_the_build_or_are_skipped_and_listed(tmp_path):
  m = tmp_path / 'manual'
  folder, truth = PARTS['train']
  testing.copy(truth, m)
  ids = testing.ids(testing.CSV / truth, header=False)
  testing.stand_ins(m / folder, ids)
  (m / folder / f'{ids[1]}.jpg').unlink()
  (m / folder / f'{ids[2]}.jpg').unlink()
  (m / folder / f'{ids[2]}.jpg').write_bytes(b'')
  (m / folder / f'{ids[3]}.jpg').unlink()
  (m / folder / f'{ids[3]}.jpg').write_bytes(testing.jpeg(size=(64, 64))[:300])
  with pytest.raises(common.BadInput, match=rf'Training_GroundTruth.csv, row 2 \({ids[1]}\): image .* does not exist'):
    testing.build(isic2016, m, tmp_path / 'a')
  builder = testing.build(isic2016, m, tmp_path / 'b', skip_bad=True)
  assert builder.info.splits['train'].num_examples == 900 - 3
  listed = common.skipped(builder)
  assert [line.split(')')[0] + ')' for line in listed] == [f'{truth}, row {n} ({ids[n - 1]})' for n in (2, 3, 4)]
  assert 'does not exist' in listed[0] and 'empty file' in listed[1] and 'not a readable image' in listed[2]
