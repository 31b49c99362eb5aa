"""malignant_vs_benign: the Kaggle "Skin Cancer: Malignant vs. Benign" layout (C. Fanconi),
`train|test/benign|malignant/*.jpg`, balanced ISIC archive images, as seed 003 used it.

No lesion or patient ids are published, so the default config's validation split (20% of
training, stratified by label, as seed 003's colleagues advised) cannot be grouped.
"""

from etils import epath

from tfds_builders import common

LABELS = ('benign', 'malignant')
SPLITS = ('train', 'test')


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  parts = {}
  for split in SPLITS:
    folders = sorted(p.name for p in (manual / split).iterdir() if p.is_dir())
    if folders != list(LABELS):
      raise ValueError(f'{manual / split}: holds folders {folders}; expected {list(LABELS)}.')
    records = []
    for label in LABELS:
      for path in sorted((manual / split / label).iterdir()):
        if path.suffix.lower() not in ('.jpg', '.jpeg', '.png'):
          bad(common.BadInput(f'{path}: not a .jpg, .jpeg or .png file.'))
          continue
        records.append(
          common.Record(image=path, label=label, image_id=path.stem, where=str(path), source='malignant_vs_benign')
        )
    parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """Benign and malignant ISIC archive images in Kaggle's class-folder layout."""

  BUILDER_CONFIGS = [
    common.Config(name='default', validation_fraction=0.2, description='20% stratified validation.'),
    common.Config(name='official', description='Train and test as published.'),
  ]
  LABELS = LABELS
  REQUIRED = tuple(f'{s}/{label}/' for s in SPLITS for label in LABELS)
  HOMEPAGE = 'https://www.kaggle.com/datasets/fanconic/skin-cancer-malignant-vs-benign'
  CITATION = 'Fanconi. Skin Cancer: Malignant vs. Benign. Kaggle (2019), from the ISIC archive.'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Unpack the Kaggle data set (kaggle datasets download fanconic/skin-cancer-malignant-vs-benign)
  into the manual directory, so that it holds {', '.join(REQUIRED)} with the JPEGs.
  """
  read_records = staticmethod(read_records)
