"""isic2020: SIIM-ISIC 2020 melanoma challenge training data, benign vs malignant.

33,126 images of 2,056 patients, with diagnosis, age, sex, site, patient and (v2 ground truth)
lesion ids. The duplicates list is honoured (the second image of each pair is left out, and
counted). Config `patient_split` (the default) splits 60/20/20, stratified by target and
grouped by patient, as Kim & Rocheteau (2020); `external` adds the malignant images of the
"melanoma external malignant 256" set (ISIC 2019 and earlier), as that paper did.
"""

import dataclasses

from absl import logging
from etils import epath

from tfds_builders import common

IMAGES = 'train'  # ISIC_2020_Training_JPEG.zip unpacks into train/.
GROUND_TRUTH = ('ISIC_2020_Training_GroundTruth_v2.csv', 'ISIC_2020_Training_GroundTruth.csv')
DUPLICATES = 'ISIC_2020_Training_Duplicates.csv'
EXTERNAL = 'external_malignant'  # Folder: train_concat.csv and train/*.jpg.
COLUMNS = (
  'image_name',
  'patient_id',
  'sex',
  'age_approx',
  'anatom_site_general_challenge',
  'diagnosis',
  'benign_malignant',
  'target',
)
# ISIC 2020's sites onto the ISIC vocabulary; 'torso' does not say which side: unknown.
SITES = {s: s for s in common.SITES} | {'torso': 'unknown'}
TARGETS = {'0': 'benign', '1': 'malignant'}


@dataclasses.dataclass(kw_only=True)
class Config(common.Config):
  external: bool = False  # Add the external malignant images (folder `external_malignant/`).


def records_of(path: epath.Path, images: epath.Path, source: str, bad: common.OnBad) -> list[common.Record]:
  records = []
  for n, row in common.read_csv(path, COLUMNS):
    where = f'{path.name}, row {n} ({row["image_name"]})'
    try:
      target = TARGETS.get(row['target'].removesuffix('.0'))
      if target is None or target != row['benign_malignant']:
        raise common.BadInput(
          f'{where}: target {row["target"]!r} and benign_malignant {row["benign_malignant"]!r}; '
          'expected 0 and benign, or 1 and malignant.'
        )
      records.append(
        common.Record(
          image=images / f'{row["image_name"]}.jpg',
          label=target,
          image_id=row['image_name'],
          where=where,
          source=source,
          age=common.age(row['age_approx'], where),
          sex=common.sex(row['sex'], where),
          site=common.site(row['anatom_site_general_challenge'], where, SITES),
          site_source=row['anatom_site_general_challenge'],
          lesion_id=row.get('lesion_id', ''),
          patient_id='' if row['patient_id'] in ('', '-1') else row['patient_id'],
          diagnosis=row['diagnosis'],
        )
      )
    except common.BadInput as e:
      bad(e)
  return records


def read_records(manual: epath.Path, bad: common.OnBad, external: bool = False) -> dict[str, list[common.Record]]:
  truth = next(manual / f for f in GROUND_TRUTH if (manual / f).exists())
  records = records_of(truth, manual / IMAGES, 'isic2020', bad)
  duplicates = {
    row['image_name_2'] for _, row in common.read_csv(manual / DUPLICATES, ('image_name_1', 'image_name_2'))
  }
  kept = [r for r in records if r.image_id not in duplicates]
  logging.info('isic2020: %d images left out as duplicates (%s).', len(records) - len(kept), DUPLICATES)
  if external:
    known = {r.image_id for r in records}
    extra = records_of(manual / EXTERNAL / 'train_concat.csv', manual / EXTERNAL / 'train', 'external_malignant', bad)
    extra = [r for r in extra if r.label == 'malignant' and r.image_id not in known]
    logging.info('isic2020: %d external malignant images added.', len(extra))
    kept += extra
  return {'train': kept}


class Builder(common.ManualBuilder):
  """ISIC 2020 training images, read from a manual download."""

  BUILDER_CONFIGS = [
    Config(name='patient_split', validation_fraction=0.2, test_fraction=0.2, description='60/20/20 by patient.'),
    Config(name='official', description='The training data as released.'),
    Config(
      name='patient_split_external',
      validation_fraction=0.2,
      test_fraction=0.2,
      external=True,
      description='60/20/20 by patient, with external malignant images.',
    ),
  ]
  LABELS = ('benign', 'malignant')
  REQUIRED = (IMAGES, ' or '.join(GROUND_TRUTH), DUPLICATES)
  HOMEPAGE = 'https://challenge.isic-archive.com/data/#2020'
  CITATION = 'Rotemberg et al. A patient-centric dataset of images and metadata. Scientific Data 8, 34 (2021).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2020, into the manual directory:
    {IMAGES}/   (the JPEGs of ISIC_2020_Training_JPEG.zip)
    {GROUND_TRUTH[0]} (or {GROUND_TRUTH[1]}) and {DUPLICATES}
  With config `external`, also {EXTERNAL}/train_concat.csv and {EXTERNAL}/train/*.jpg from
  kaggle.com/datasets/cdeotte/melanoma-external-malignant-256.
  """

  def read_records(self, manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
    return read_records(manual, bad, self.builder_config.external)
