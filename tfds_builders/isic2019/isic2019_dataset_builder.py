"""isic2019: ISIC 2019 challenge training data, eight diagnoses, with age, sex, site and lesion.

The challenge's test ground truth is not part of its download, so `official` has the training
split only; `lesion_split` carves a validation split from it, stratified by diagnosis and
grouped by `lesion_id` (HAM10000's and BCN20000's lesions) so that no lesion is on both sides.
"""

from etils import epath

from tfds_builders import common

IMAGES = 'ISIC_2019_Training_Input'
GROUND_TRUTH = 'ISIC_2019_Training_GroundTruth.csv'
METADATA = 'ISIC_2019_Training_Metadata.csv'
# The ground truth's columns; UNK (none of the others) is only used by the test set.
COLUMNS = ('MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC', 'UNK')
METADATA_COLUMNS = ('image', 'age_approx', 'anatom_site_general', 'lesion_id', 'sex')
DIAGNOSES = ('ak', 'bcc', 'bkl', 'df', 'mel', 'nv', 'scc', 'vasc')


def read_records(manual: epath.Path, bad: common.OnBad) -> dict[str, list[common.Record]]:
  metadata = common.read_table(manual / METADATA, METADATA_COLUMNS, 'image')
  records = []
  for image_id, (dx, where) in common.one_hot_labels(manual / GROUND_TRUTH, COLUMNS, bad).items():
    if image_id not in metadata:
      bad(common.BadInput(f'{where}: {image_id} has no row in {METADATA}.'))
      continue
    meta, meta_where = metadata[image_id]
    try:
      records.append(
        common.Record(
          image=manual / IMAGES / f'{image_id}.jpg',
          label=dx,
          image_id=image_id,
          where=where,
          source='isic2019',
          age=common.age(meta['age_approx'], meta_where),
          sex=common.sex(meta['sex'], meta_where),
          site=common.site(meta['anatom_site_general'], meta_where),
          site_source=meta['anatom_site_general'],
          lesion_id=meta['lesion_id'],
        )
      )
    except common.BadInput as e:
      bad(e)
  return {'train': records}


class Builder(common.ManualBuilder):
  """ISIC 2019 training images (HAM10000, BCN20000, MSK), read from a manual download."""

  BUILDER_CONFIGS = [
    common.Config(name='official', description='The training data as released.'),
    common.Config(name='lesion_split', validation_fraction=0.15, description='Lesion-grouped validation.'),
  ]
  LABELS = DIAGNOSES
  REQUIRED = (IMAGES, GROUND_TRUTH, METADATA)
  HOMEPAGE = 'https://challenge.isic-archive.com/data/#2019'
  CITATION = 'Combalia et al. BCN20000: dermoscopic lesions in the wild. arXiv:1908.02288 (2019).'
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  From https://challenge.isic-archive.com/data/#2019 (training data), into the manual directory:
    {IMAGES}/, {GROUND_TRUTH} and {METADATA}
  """
  read_records = staticmethod(read_records)
