"""isic2018_task3: HAM10000 / ISIC 2018 Task 3, seven diagnoses, with age, sex and site.

Config `official` keeps the splits as released (train; validation and test where their files
are in the manual directory). Config `lesion_split` carves a validation split from training,
stratified by diagnosis and grouped by `lesion_id` so that no lesion is on both sides; the
released validation part, where present, becomes `official_validation`.
"""

from etils import epath

from tfds_builders import common

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
PARTS = {  # split -> (image folder, ground-truth CSV), as the challenge released them.
  'train': ('ISIC2018_Task3_Training_Input', 'ISIC2018_Task3_Training_GroundTruth.csv'),
  'validation': ('ISIC2018_Task3_Validation_Input', 'ISIC2018_Task3_Validation_GroundTruth.csv'),
  'test': ('ISIC2018_Task3_Test_Input', 'ISIC2018_Task3_Test_GroundTruth.csv'),
}
METADATA = 'HAM10000_metadata.csv'


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  metadata = common.read_table(manual / METADATA, METADATA_COLUMNS, 'image_id')
  parts = {}
  for split, (folder, truth) in common.released_parts(manual, PARTS, 'isic2018_task3').items():
    records = []
    for image_id, (dx, where) in common.one_hot_labels(manual / truth, COLUMNS, bad).items():
      meta, meta_where = metadata.get(image_id, ({}, where))
      try:
        if meta and meta['dx'] != dx:
          raise common.BadInput(f'{meta_where}: dx {meta["dx"]!r}, but {where} says {dx!r}.')
        records.append(
          common.Record(
            image=manual / folder / f'{image_id}.jpg',
            label=dx,
            image_id=image_id,
            where=where,
            source='isic2018_task3',
            age=common.age(meta.get('age', ''), meta_where),
            sex=common.sex(meta.get('sex', ''), meta_where),
            site=common.site(meta.get('localization', ''), meta_where, SITES),
            site_source=meta.get('localization', ''),
            lesion_id=meta.get('lesion_id', ''),
          )
        )
      except common.BadInput as e:
        bad(e)
    parts[split] = records
  return parts


class Builder(common.ManualBuilder):
  """HAM10000 dermoscopy images of ISIC 2018 Task 3, read from a manual download."""

  BUILDER_CONFIGS = [
    common.Config(name='official', description='The splits as released.'),
    common.Config(name='lesion_split', validation_fraction=0.15, description='Lesion-grouped validation.'),
  ]
  LABELS = DIAGNOSES
  REQUIRED = (*PARTS['train'], METADATA)
  HOMEPAGE = 'https://challenge.isic-archive.com/data/#2018'
  CITATION = 'Tschandl, Rosendahl and Kittler. The HAM10000 dataset. Scientific Data 5, 180161 (2018).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2018 (Task 3), into the manual directory:
    {PARTS['train'][0]}/ and {PARTS['train'][1]}   (required)
    {METADATA}   (required; HAM10000's metadata, also on the Harvard Dataverse)
    {PARTS['validation'][0]}/ and {PARTS['validation'][1]}   (optional)
    {PARTS['test'][0]}/ and {PARTS['test'][1]}   (optional)
  """
  read_records = staticmethod(read_records)
