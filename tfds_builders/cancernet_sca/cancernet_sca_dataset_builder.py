"""cancernet_sca: the Cancer-Net SCa paper's ISIC split, benign (0) vs malignant (1)."""

from etils import epath

from tfds_builders import common

# The paper's lists, as its repository publishes them: `image_name.jpg,label` per line.
SPLIT_FILES = {'train': 'train_images.csv', 'validation': 'val_images.csv', 'test': 'test_images.csv'}
IMAGE_DIR = 'images'
LABELS = ('benign', 'malignant')


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  parts = {}
  for split, name in SPLIT_FILES.items():
    records = []
    for n, row in common.read_csv(manual / name, ('file', 'label'), fieldnames=('file', 'label')):
      where = f'{name}, row {n}'
      if row['label'] not in ('0', '1') or not row['file']:
        bad(common.BadInput(f'{where}: expected `image_name.jpg,0|1`, got {row["file"]!r}, {row["label"]!r}.'))
        continue
      path = manual / IMAGE_DIR / row['file']
      records.append(
        common.Record(
          image=path, label=LABELS[int(row['label'])], image_id=path.stem, where=where, source='isic_archive'
        )
      )
    parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """ISIC archive images in the split of Lee et al. (BMC Medical Imaging 2022)."""

  BUILDER_CONFIGS = [common.Config(name='default', description="The paper's split.")]
  LABELS = LABELS
  REQUIRED = (*SPLIT_FILES.values(), f'{IMAGE_DIR}/')
  HOMEPAGE = 'https://github.com/jamesrenhoulee/CancerNet-SCa'
  CITATION = 'Lee, Pavlova, Famouri and Wong. Cancer-Net SCa. BMC Medical Imaging 22, 143 (2022).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Put these in the manual directory (by default ~/tensorflow_datasets/downloads/manual/):
    {SPLIT_FILES['train']}, {SPLIT_FILES['validation']}, {SPLIT_FILES['test']}
        the paper's split lists, from the Cancer-Net SCa repository
        (github.com/jamesrenhoulee/CancerNet-SCa, folder `dataset/`);
    {IMAGE_DIR}/ISIC_XXXXXXX.jpg
        every ISIC archive image those lists name, e.g. downloaded with the `isic-cli` tool:
        `pip install isic-cli && isic image download {IMAGE_DIR}/`.
  """
  read_records = staticmethod(read_records)
