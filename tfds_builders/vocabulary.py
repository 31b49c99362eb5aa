"""The ISIC archive's metadata vocabulary (isic-metadata 4.12.0), shared by every builder."""

# `anatom_site_general` (AnatomSiteGeneralEnum).
SITES = (
  'head/neck',
  'upper extremity',
  'lower extremity',
  'anterior torso',
  'posterior torso',
  'palms/soles',
  'lateral torso',
  'oral/genital',
)
SEXES = ('female', 'male')
