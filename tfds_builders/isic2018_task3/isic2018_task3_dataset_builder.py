"""isic2018_task3: HAM10000 / ISIC 2018 Task 3, seven diagnoses, with age, sex and site.

Config `official` keeps the splits as released (train; validation and test where their files
are in the manual directory). Config `lesion_split` carves a validation split from training,
stratified by diagnosis and grouped by `lesion_id` so that no lesion is on both sides; the
released validation and test parts, where present, become `official_validation` and `test`.
"""

import csv
import dataclasses

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from tfds_builders.manual import manual_dir

# HAM10000's diagnoses in alphabetical order (as `synthetic_lesions`), and the challenge's columns.
DIAGNOSES = ('akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc')
COLUMNS = ('MEL', 'NV', 'BCC', 'AKIEC', 'BKL', 'DF', 'VASC')
METADATA_COLUMNS = ('lesion_id', 'image_id', 'dx', 'age', 'sex', 'localization')
# HAM10000's `localization` onto the ISIC archive's `anatom_site_general` (isic-metadata 4.12.0),
# as the ISIC 2019 metadata maps the same images; 'trunk' does not say which side: unknown.
SITES = {
  'abdomen': 'anterior torso',
  'acral': 'palms/soles',
  'back': 'posterior torso',
  'chest': 'anterior torso',
  'ear': 'head/neck',
  'face': 'head/neck',
  'foot': 'lower extremity',
  'genital': 'oral/genital',
  'hand': 'upper extremity',
  'lower extremity': 'lower extremity',
  'neck': 'head/neck',
  'scalp': 'head/neck',
  'upper extremity': 'upper extremity',
  'trunk': 'unknown',
  'unknown': 'unknown',
}
SITE_NAMES = (*dict.fromkeys(v for v in SITES.values() if v != 'unknown'), 'unknown')
PARTS = {  # split -> (image folder, ground-truth CSV), as the challenge released them.
  'train': ('ISIC2018_Task3_Training_Input', 'ISIC2018_Task3_Training_GroundTruth.csv'),
  'validation': ('ISIC2018_Task3_Validation_Input', 'ISIC2018_Task3_Validation_GroundTruth.csv'),
  'test': ('ISIC2018_Task3_Test_Input', 'ISIC2018_Task3_Test_GroundTruth.csv'),
}
METADATA = 'HAM10000_metadata.csv'


@dataclasses.dataclass(kw_only=True)
class Isic2018Config(tfds.core.BuilderConfig):
  validation_fraction: float = 0.0  # > 0: carve a lesion-grouped validation split from training.
  seed: int = 0


def read_csv(path: epath.Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
  """Rows of a CSV that must have `columns` (others are ignored)."""
  with path.open() as f:
    reader = csv.DictReader(f)
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
      raise ValueError(f'{path}: missing columns {missing}; expected {list(columns)}, found {reader.fieldnames}.')
    return list(reader)


def read_labels(path: epath.Path) -> dict[str, str]:
  """{image id: diagnosis} from a challenge ground-truth CSV (one-hot rows)."""
  labels = {}
  for row_number, row in enumerate(read_csv(path, ('image', *COLUMNS)), start=2):
    hot = [c for c in COLUMNS if float(row[c] or 0) == 1.0]
    if len(hot) != 1 or sum(float(row[c] or 0) for c in COLUMNS) != 1.0:
      raise ValueError(f'{path}, row {row_number} ({row["image"]}): expected exactly one 1.0 among {COLUMNS}.')
    labels[row['image']] = hot[0].lower()
  return labels


def lesion_split(lesions: dict[str, tuple[str, list[str]]], fraction: float, seed: int) -> set[str]:
  """Lesion ids for validation: per diagnosis, whole lesions in a seeded order until `fraction`
  of that diagnosis's images are taken. `lesions` maps lesion id -> (diagnosis, image ids)."""
  rng = np.random.default_rng(seed)
  chosen = set()
  for dx in DIAGNOSES:
    ids = sorted(k for k, (d, _) in lesions.items() if d == dx)
    target = fraction * sum(len(lesions[k][1]) for k in ids)
    taken = 0
    for k in rng.permutation(ids):
      if taken >= target:
        break
      chosen.add(str(k))
      taken += len(lesions[k][1])
  return chosen


class Builder(tfds.core.GeneratorBasedBuilder):
  """HAM10000 dermoscopy images of ISIC 2018 Task 3, read from a manual download."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  BUILDER_CONFIGS = [
    Isic2018Config(name='official', description='The splits as released.'),
    Isic2018Config(name='lesion_split', validation_fraction=0.15, description='Lesion-grouped validation.'),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2018 (Task 3), into the manual directory:
    {PARTS['train'][0]}/ and {PARTS['train'][1]}   (required)
    {METADATA}   (required; HAM10000's metadata, also on the Harvard Dataverse)
    {PARTS['validation'][0]}/ and {PARTS['validation'][1]}   (optional)
    {PARTS['test'][0]}/ and {PARTS['test'][1]}   (optional)
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Image(shape=(None, None, 3), encoding_format='jpeg'),
          'label': tfds.features.ClassLabel(names=DIAGNOSES),
          'age': tfds.features.Scalar(np.int32, doc='Age in years, -1 when unknown.'),
          'sex': tfds.features.ClassLabel(names=('female', 'male', 'unknown')),
          'site': tfds.features.ClassLabel(names=SITE_NAMES),
          'image_id': tfds.features.Text(),
          'lesion_id': tfds.features.Text(doc="HAM10000's lesion id; empty when the image has no metadata."),
        }
      ),
      supervised_keys=('image', 'label'),
      homepage='https://challenge.isic-archive.com/data/#2018',
      citation='Tschandl, Rosendahl and Kittler. The HAM10000 dataset. Scientific Data 5, 180161 (2018).',
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    required = [*PARTS['train'], METADATA]
    manual = manual_dir(dl_manager, 'isic2018_task3', required, self.MANUAL_DOWNLOAD_INSTRUCTIONS)
    metadata = {r['image_id']: r for r in read_csv(manual / METADATA, METADATA_COLUMNS)}
    parts = {}
    for split, (folder, labels) in PARTS.items():
      if (manual / folder).is_dir() and (manual / labels).exists():
        parts[split] = (manual / folder, read_labels(manual / labels))
      elif split != 'train':
        logging.warning(
          'isic2018_task3: no %s part (%s, %s) in %s; building without it.', split, folder, labels, manual
        )
    c = self.builder_config
    if not c.validation_fraction:
      return {split: self._generate_examples(folder, labels, metadata) for split, (folder, labels) in parts.items()}
    folder, labels = parts.pop('train')
    lesions: dict[str, tuple[str, list[str]]] = {}
    for image_id, dx in labels.items():
      lesion = metadata.get(image_id, {}).get('lesion_id') or image_id  # No metadata: its own lesion.
      lesions.setdefault(lesion, (dx, []))[1].append(image_id)
    held_out = {i for k in lesion_split(lesions, c.validation_fraction, c.seed) for i in lesions[k][1]}
    splits = {
      'train': self._generate_examples(folder, {i: d for i, d in labels.items() if i not in held_out}, metadata),
      'validation': self._generate_examples(folder, {i: d for i, d in labels.items() if i in held_out}, metadata),
    }
    if 'validation' in parts:
      splits['official_validation'] = self._generate_examples(*parts['validation'], metadata)
    if 'test' in parts:
      splits['test'] = self._generate_examples(*parts['test'], metadata)
    return splits

  def _generate_examples(self, folder: epath.Path, labels: dict[str, str], metadata: dict[str, dict[str, str]]):
    for image_id, dx in labels.items():
      path = folder / f'{image_id}.jpg'
      if not path.exists():
        raise FileNotFoundError(f'{path}: listed in the ground truth but not in {folder}.')
      meta = metadata.get(image_id, {})
      if meta and meta['dx'] != dx:
        raise ValueError(f'{METADATA}: {image_id} has dx {meta["dx"]!r}, the ground truth says {dx!r}.')
      site = meta.get('localization') or 'unknown'
      if site not in SITES:
        raise ValueError(f'{METADATA}: {image_id} has localization {site!r}; expected one of {sorted(SITES)}.')
      yield (
        image_id,
        {
          'image': path,
          'label': dx,
          'age': int(float(meta['age'])) if meta.get('age') else -1,
          'sex': meta.get('sex') if meta.get('sex') in ('female', 'male') else 'unknown',
          'site': SITES[site],
          'image_id': image_id,
          'lesion_id': meta.get('lesion_id', ''),
        },
      )
