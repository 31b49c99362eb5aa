"""isic2017: ISIC 2017 challenge, Part 3: melanoma, seborrheic keratosis or nevus."""

from etils import epath

from tfds_builders import common

PARTS = {  # split -> (image folder, ground-truth CSV), as released (2000 / 150 / 600 images).
  'train': ('ISIC-2017_Training_Data', 'ISIC-2017_Training_Part3_GroundTruth.csv'),
  'validation': ('ISIC-2017_Validation_Data', 'ISIC-2017_Validation_Part3_GroundTruth.csv'),
  'test': ('ISIC-2017_Test_v2_Data', 'ISIC-2017_Test_v2_Part3_GroundTruth.csv'),
}
COLUMNS = ('image_id', 'melanoma', 'seborrheic_keratosis')
METADATA_COLUMNS = ('image_id', 'age_approximate', 'sex')  # In each image folder, when present.


def label(row: dict[str, str], where: str) -> str:
  flags = {}
  for c in COLUMNS[1:]:
    if row[c] not in ('0', '1', '0.0', '1.0'):
      raise common.BadInput(f'{where}: {c} is {row[c]!r}; expected 0 or 1.')
    flags[c] = float(row[c]) == 1.0
  if all(flags.values()):
    raise common.BadInput(f'{where}: both melanoma and seborrheic_keratosis are 1; expected at most one.')
  return next((c for c, on in flags.items() if on), 'nevus')


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  parts = {}
  for split, (folder, truth) in common.released_parts(manual, PARTS, 'isic2017').items():
    metadata_file = manual / folder / f'{folder}_metadata.csv'
    metadata = common.read_table(metadata_file, METADATA_COLUMNS, 'image_id') if metadata_file.exists() else {}
    records = []
    for n, row in common.read_csv(manual / truth, COLUMNS):
      where = f'{truth}, row {n} ({row["image_id"]})'
      meta, meta_where = metadata.get(row['image_id'], ({}, where))
      try:
        records.append(
          common.Record(
            image=manual / folder / f'{row["image_id"]}.jpg',
            label=label(row, where),
            image_id=row['image_id'],
            where=where,
            source='isic2017',
            age=common.age(meta.get('age_approximate', ''), meta_where),
            sex=common.sex(meta.get('sex', ''), meta_where),
          )
        )
      except common.BadInput as e:
        bad(e)
    parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """ISIC 2017 Part 3 dermoscopy images (with age and sex where the metadata files are given)."""

  LABELS = ('melanoma', 'nevus', 'seborrheic_keratosis')
  REQUIRED = PARTS['train']
  HOMEPAGE = 'https://challenge.isic-archive.com/data/#2017'
  CITATION = 'Codella et al. Skin lesion analysis toward melanoma detection (ISBI 2017). arXiv:1710.05006.'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2017 (Part 3), into the manual directory:
    {PARTS['train'][0]}/ and {PARTS['train'][1]}   (required)
    {PARTS['validation'][0]}/ and {PARTS['validation'][1]}   (optional)
    {PARTS['test'][0]}/ and {PARTS['test'][1]}   (optional)
  Each image folder's `<folder>_metadata.csv` (age_approximate, sex) is read when present.
  """
  read_records = staticmethod(read_records)
