"""isic2016: ISBI 2016 challenge, Part 3 (lesion classification), benign vs malignant."""

from etils import epath

from tfds_builders import common

PARTS = {  # split -> (image folder, ground-truth CSV without a header), as released.
  'train': ('ISBI2016_ISIC_Part3_Training_Data', 'ISBI2016_ISIC_Part3_Training_GroundTruth.csv'),
  'test': ('ISBI2016_ISIC_Part3_Test_Data', 'ISBI2016_ISIC_Part3_Test_GroundTruth.csv'),
}
# The training CSV says 'benign'/'malignant', the test CSV 0.0/1.0.
LABELS = {
  'benign': 'benign',
  'malignant': 'malignant',
  '0.0': 'benign',
  '1.0': 'malignant',
  '0': 'benign',
  '1': 'malignant',
}


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  parts = {}
  for split, (folder, truth) in common.released_parts(manual, PARTS, 'isic2016').items():
    records = []
    for n, row in common.read_csv(manual / truth, ('image', 'label'), fieldnames=('image', 'label')):
      where = f'{truth}, row {n} ({row["image"]})'
      if row['label'] not in LABELS:
        bad(common.BadInput(f'{where}: label {row["label"]!r}; expected one of {sorted(LABELS)}.'))
        continue
      records.append(
        common.Record(
          image=manual / folder / f'{row["image"]}.jpg',
          label=LABELS[row['label']],
          image_id=row['image'],
          where=where,
          source='isic2016',
        )
      )
    parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """ISBI 2016 (ISIC) Part 3 dermoscopy images, read from a manual download. No metadata."""

  LABELS = ('benign', 'malignant')
  REQUIRED = PARTS['train']
  HOMEPAGE = 'https://challenge.isic-archive.com/data/#2016'
  CITATION = 'Gutman et al. Skin lesion analysis toward melanoma detection (ISBI 2016). arXiv:1605.01397.'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2016 (Part 3), into the manual directory:
    {PARTS['train'][0]}/ and {PARTS['train'][1]}   (required)
    {PARTS['test'][0]}/ and {PARTS['test'][1]}   (optional)
  """
  read_records = staticmethod(read_records)
