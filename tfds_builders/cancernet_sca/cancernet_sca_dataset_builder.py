"""cancernet_sca: the Cancer-Net SCa paper's ISIC split, benign (0) vs malignant (1)."""

import csv

import tensorflow_datasets as tfds
from etils import epath

from tfds_builders.manual import manual_dir

# The paper's lists, as its repository publishes them: `image_name.jpg,label` per line.
SPLIT_FILES = {'train': 'train_images.csv', 'validation': 'val_images.csv', 'test': 'test_images.csv'}
IMAGE_DIR = 'images'


class Builder(tfds.core.GeneratorBasedBuilder):
  """ISIC archive images in the split of Lee et al. (BMC Medical Imaging 2022)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Put these in the manual directory (by default ~/tensorflow_datasets/downloads/manual/):
    {SPLIT_FILES['train']}, {SPLIT_FILES['validation']}, {SPLIT_FILES['test']}
        the paper's split lists, from the Cancer-Net SCa repository
        (github.com/jamesrenhoulee/CancerNet-SCa, folder `dataset/`);
    {IMAGE_DIR}/ISIC_XXXXXXX.jpg
        every ISIC archive image those lists name, e.g. downloaded with the `isic-cli` tool:
        `pip install isic-cli && isic image download {IMAGE_DIR}/`.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Image(shape=(None, None, 3), encoding_format='jpeg'),
          'label': tfds.features.ClassLabel(names=('benign', 'malignant')),
          'image_id': tfds.features.Text(),
        }
      ),
      supervised_keys=('image', 'label'),
      homepage='https://github.com/jamesrenhoulee/CancerNet-SCa',
      citation='Lee, Pavlova, Famouri and Wong. Cancer-Net SCa. BMC Medical Imaging 22, 143 (2022).',
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    required = [*SPLIT_FILES.values(), f'{IMAGE_DIR}/']
    manual = manual_dir(dl_manager, 'cancernet_sca', required, self.MANUAL_DOWNLOAD_INSTRUCTIONS)
    return {split: self._generate_examples(manual / f, manual / IMAGE_DIR) for split, f in SPLIT_FILES.items()}

  def _generate_examples(self, split_file: epath.Path, image_dir: epath.Path):
    with split_file.open() as f:
      for row_number, row in enumerate(csv.reader(f), start=1):
        if len(row) != 2 or row[1].strip() not in ('0', '1'):
          raise ValueError(f'{split_file}, row {row_number}: expected `image_name.jpg,0|1`, got {row!r}.')
        path = image_dir / row[0].strip()
        if not path.exists():
          raise FileNotFoundError(f'{split_file}, row {row_number}: image {path} does not exist.')
        image_id = path.stem
        yield image_id, {'image': path, 'label': int(row[1]), 'image_id': image_id}
