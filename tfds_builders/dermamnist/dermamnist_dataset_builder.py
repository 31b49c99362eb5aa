"""dermamnist: MedMNIST's DermaMNIST, HAM10000 at 28x28 in seven classes, from `dermamnist.npz`."""

import numpy as np
from etils import epath

from tfds_builders import common

FILE = 'dermamnist.npz'
SPLITS = {'train': 'train', 'validation': 'val', 'test': 'test'}  # Ours -> the file's key prefix.
# MedMNIST's label order, which is HAM10000's diagnoses in alphabetical order.
DIAGNOSES = ('akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc')


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  path = manual / FILE
  with np.load(path) as arrays:
    expected = [f'{p}_{k}' for p in SPLITS.values() for k in ('images', 'labels')]
    missing = [k for k in expected if k not in arrays]
    if missing:
      raise ValueError(f'{path}: missing arrays {missing}; expected {expected} (the MedMNIST layout).')
    parts = {}
    for split, prefix in SPLITS.items():
      images, labels = arrays[f'{prefix}_images'], arrays[f'{prefix}_labels'].reshape(-1)
      if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or len(images) != len(labels):
        raise ValueError(
          f'{path}: {prefix}_images is {images.dtype}{list(images.shape)} with {len(labels)} labels; '
          'expected uint8 [N, H, W, 3] and N labels.'
        )
      records = []
      for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        where = f'{path.name}, {prefix}_labels[{i}]'
        if not 0 <= label < len(DIAGNOSES):
          bad(common.BadInput(f'{where}: label {label}; expected 0-{len(DIAGNOSES) - 1}.'))
          continue
        records.append(
          common.Record(
            image=image,
            label=DIAGNOSES[label],
            image_id=f'{prefix}_{i:05d}',
            where=where,
            source='dermamnist',
          )
        )
      parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """DermaMNIST (MedMNIST v2): 10,015 HAM10000 images at 28x28, stored losslessly as PNG."""

  LABELS = DIAGNOSES
  REQUIRED = (FILE,)
  ENCODING = 'png'
  HOMEPAGE = 'https://medmnist.com/'
  CITATION = 'Yang et al. MedMNIST v2. Scientific Data 10, 41 (2023).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Put {FILE} in the manual directory: from https://zenodo.org/records/10519652, or written by
  `pip install medmnist && python -c "import medmnist; medmnist.DermaMNIST(split='train', download=True)"`
  (into ~/.medmnist/).
  """
  read_records = staticmethod(read_records)
