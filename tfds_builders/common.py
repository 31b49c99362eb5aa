"""What every manually downloaded skin-lesion data set shares.

One feature set (image, label, age, sex, site on the ISIC archive's vocabulary, identifiers and
source), image checks, lesion- and patient-grouped stratified splits, and one policy for bad
input: a `BadInput` error naming the file or row and what was expected, or, with the config's
`skip_bad`, the example left out, counted in the log and listed in `skipped.txt` beside the
built data set.

A builder subclasses `ManualBuilder` and reads its source's files into `Record`s in
`read_records(manual_dir, bad)`, handing every row it cannot use to `bad`.
"""

import collections
import csv
import dataclasses
import io
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath
from PIL import Image, ImageOps

from tfds_builders import vocabulary
from tfds_builders.manual import manual_dir

SEXES = (*vocabulary.SEXES, 'unknown')
SITES = (*vocabulary.SITES, 'unknown')
MAX_AGE = 120
MAX_PIXELS = 100_000_000  # Larger images are refused as possible decompression bombs.
JPEG_QUALITY = 95
SKIPPED_FILE = 'skipped.txt'


class BadInput(ValueError):
  """One example cannot be used; the message names its file or row and what was expected."""


@dataclasses.dataclass(frozen=True)
class Record:
  """One example as a source describes it; `where` names its file and row for messages."""

  image: epath.Path | np.ndarray
  label: str
  image_id: str
  where: str
  source: str
  age: int = -1
  sex: str = 'unknown'
  site: str = 'unknown'
  site_source: str = ''
  lesion_id: str = ''
  patient_id: str = ''
  diagnosis: str = ''


OnBad = Callable[[BadInput], None]


@dataclasses.dataclass(kw_only=True)
class Config(tfds.core.BuilderConfig):
  """Build options shared by the manual builders.

  image_size: > 0 resizes images whose shorter side is longer to that shorter side at build
    time (ISIC 2020's 6000x4000 originals need not be stored); 0 keeps the source's pixels.
  validation_fraction, test_fraction: carved from the training data, stratified by label and
    grouped so that no lesion or patient is on two sides.
  skip_bad: leave out examples with bad data (counted and listed) instead of stopping.
  """

  image_size: int = 0
  validation_fraction: float = 0.0
  test_fraction: float = 0.0
  seed: int = 0
  skip_bad: bool = False

  @classmethod
  def make(cls, **fields) -> 'Config':
    """A config whose name spells out the fields that differ from the defaults."""
    config, defaults = cls(name='tmp', **fields), cls(name='tmp')
    changed = [f'{k}{_spell(v)}' for k, v in sorted(fields.items()) if v != getattr(defaults, k)]
    return dataclasses.replace(config, name='_'.join(changed) or 'default')


def _spell(value) -> str:
  return '+'.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def read_csv(
  path: epath.Path, columns: Sequence[str], fieldnames: Sequence[str] | None = None
) -> list[tuple[int, dict[str, str]]]:
  """(row number, row) of a CSV that must have `columns`; `fieldnames` for a CSV without a
  header. Row numbers count lines from 1, as an editor shows them."""
  with path.open() as f:
    reader = csv.DictReader(f, fieldnames=fieldnames)
    found = reader.fieldnames or ()
    missing = [c for c in columns if c not in found]
    if missing:
      raise ValueError(f'{path}: missing columns {missing}; expected {list(columns)}, found {list(found)}.')
    first = 1 if fieldnames else 2
    return [(n, {k: (v or '').strip() for k, v in row.items() if k is not None}) for n, row in enumerate(reader, first)]


def read_table(path: epath.Path, columns: Sequence[str], key: str) -> dict[str, tuple[dict[str, str], str]]:
  """{row[key]: (row, where)} of a metadata CSV; `where` names the file, row and key for messages."""
  return {row[key]: (row, f'{path.name}, row {n} ({row[key]})') for n, row in read_csv(path, columns)}


def released_parts(
  manual: epath.Path, parts: Mapping[str, tuple[str, str]], dataset: str
) -> dict[str, tuple[str, str]]:
  """The parts, {split: (image folder, ground truth)}, whose ground truth is in `manual`; a
  warning names the others, which are built without."""
  present = {split: part for split, part in parts.items() if (manual / part[1]).exists()}
  for split in parts.keys() - present.keys():
    logging.warning('%s: no %s part (%s) in %s; building without it.', dataset, split, parts[split][1], manual)
  return present


def one_hot_labels(path: epath.Path, columns: tuple[str, ...], bad: OnBad) -> dict[str, tuple[str, str]]:
  """{image id: (column name in lower case, where)} from a challenge CSV of one-hot rows."""
  labels = {}
  for n, row in read_csv(path, ('image', *columns)):
    where = f'{path.name}, row {n} ({row["image"]})'
    try:
      values = [float(row[c] or 0) for c in columns]
    except ValueError:
      bad(BadInput(f'{where}: expected numbers in {list(columns)}, got {[row[c] for c in columns]}.'))
      continue
    if sorted(values) != [0.0] * (len(columns) - 1) + [1.0]:
      bad(BadInput(f'{where}: expected exactly one 1.0 among {list(columns)}.'))
      continue
    labels[row['image']] = (columns[values.index(1.0)].lower(), where)
  return labels


def age(value: str, where: str) -> int:
  """Years from '45', '45.0'; -1 for an empty or 'unknown' value."""
  if value.lower() in ('', 'unknown', 'nan', 'na'):
    return -1
  try:
    years = float(value)
  except ValueError:
    raise BadInput(f'{where}: age {value!r} is not a number; expected years or empty.') from None
  if not 0 <= years <= MAX_AGE:
    raise BadInput(f'{where}: age {value!r} is outside 0-{MAX_AGE}.')
  return int(years)


def sex(value: str, where: str) -> str:
  value = value.lower()
  if value in ('', 'unknown', 'nan', 'na'):
    return 'unknown'
  if value not in SEXES:
    raise BadInput(f'{where}: sex {value!r}; expected female, male or empty.')
  return value


def site(value: str, where: str, mapping: Mapping[str, str] | None = None) -> str:
  """`value` on the ISIC vocabulary, through the source's `mapping` where it has its own."""
  value = value.strip()
  mapped = (mapping or {}).get(value, value) if value else 'unknown'
  if mapped not in SITES:
    expected = sorted(mapping) if mapping else list(SITES)
    raise BadInput(f'{where}: site {value!r}; expected one of {expected} or empty.')
  return mapped


def features(labels: Sequence[str], encoding: str = 'jpeg') -> tfds.features.FeaturesDict:
  text = tfds.features.Text
  return tfds.features.FeaturesDict(
    {
      'image': tfds.features.Image(shape=(None, None, 3), encoding_format=encoding),
      'label': tfds.features.ClassLabel(names=labels),
      'age': tfds.features.Scalar(np.int32, doc='Age in years; -1 when unknown.'),
      'sex': tfds.features.ClassLabel(names=SEXES),
      'site': tfds.features.ClassLabel(names=SITES),
      'site_source': text(doc='The anatomical site as the source wrote it.'),
      'image_id': text(),
      'lesion_id': text(doc='Empty when the source has none.'),
      'patient_id': text(doc='Empty when the source has none.'),
      'diagnosis': text(doc="The source's finer diagnosis, where it has one."),
      'source': text(doc='The data set the example comes from.'),
    }
  )


def _open(data: bytes, where: str) -> Image.Image:
  """The decoded image as stored, or `BadInput` saying what is wrong with the bytes."""
  if not data:
    raise BadInput(f'{where}: empty file (0 bytes); expected an image.')
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('error', Image.DecompressionBombWarning)
      image = Image.open(io.BytesIO(data))
      if image.width * image.height > MAX_PIXELS:
        raise BadInput(
          f'{where}: {image.width}x{image.height} pixels, more than the {MAX_PIXELS:,} allowed '
          '(a possible decompression bomb).'
        )
      image.load()
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
    if isinstance(e, BadInput):
      raise
    raise BadInput(f'{where}: not a readable image ({e}); expected a complete JPEG or PNG.') from None
  return image


def _upright_rgb(image: Image.Image) -> Image.Image:
  image = ImageOps.exif_transpose(image)
  if image.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):  # 16-bit or float greyscale.
    pixels = np.asarray(image, np.float64)
    scale = 255.0 / 65535.0 if pixels.max() > 255 else 1.0
    image = Image.fromarray(np.clip(pixels * scale + 0.5, 0, 255).astype(np.uint8))
  elif 'A' in image.getbands():  # Transparency over black, as outside a dermoscope's field.
    rgba = image.convert('RGBA')
    image = Image.new('RGB', rgba.size)
    image.paste(rgba, mask=rgba.getchannel('A'))
  return image.convert('RGB')


def load_image(data: bytes, where: str) -> Image.Image:
  """An upright RGB image from encoded bytes (JPEG, PNG, ...; greyscale, alpha, CMYK or 16-bit;
  EXIF orientation applied), or `BadInput` saying what is wrong with it."""
  return _upright_rgb(_open(data, where))


def encode(image: epath.Path | np.ndarray, where: str, image_size: int = 0, encoding: str = 'jpeg') -> bytes:
  """The image's bytes for the dataset: the source file itself when it is an upright RGB JPEG
  that needs no resizing, else the checked image re-encoded."""
  if isinstance(image, np.ndarray):
    pixels = Image.fromarray(image).convert('RGB')
  else:
    try:
      data = image.read_bytes()
    except OSError as e:
      raise BadInput(f'{where}: cannot read {image} ({e}).') from None
    pixels = _open(data, f'{where}, {image}')
    small = not image_size or min(pixels.size) <= image_size
    if small and encoding == pixels.format.lower() == 'jpeg' and pixels.mode == 'RGB':
      if pixels.getexif().get(0x0112, 1) == 1:  # No EXIF rotation to apply.
        return data
    pixels = _upright_rgb(pixels)
  if image_size and min(pixels.size) > image_size:
    scale = image_size / min(pixels.size)
    pixels = pixels.resize((round(pixels.width * scale), round(pixels.height * scale)), Image.BICUBIC, reducing_gap=3)
  out = io.BytesIO()
  if encoding == 'jpeg':
    pixels.save(out, 'JPEG', quality=JPEG_QUALITY)
  else:
    pixels.save(out, encoding.upper())
  return out.getvalue()


def grouped_split(records: Sequence[Record], fractions: Mapping[str, float], seed: int) -> dict[str, list[Record]]:
  """{split: records} in the given fractions, stratified by label, with every group of images
  that share a lesion or a patient on one side. A group with several labels is stratified by
  its rarest one. Groups are placed in a seeded order, each where the running total of its
  stratum falls."""
  parent = list(range(len(records)))  # Union-find over images sharing a lesion or patient id.

  def root(i: int) -> int:
    while parent[i] != i:
      parent[i] = parent[parent[i]]
      i = parent[i]
    return i

  first: dict[tuple[str, str], int] = {}
  for i, r in enumerate(records):
    for key in (('lesion', r.lesion_id), ('patient', r.patient_id)):
      if key[1]:
        parent[root(i)] = root(first.setdefault(key, i))
  groups: dict[int, list[Record]] = collections.defaultdict(list)
  for i, r in enumerate(records):
    groups[root(i)].append(r)
  counts = collections.Counter(r.label for r in records)
  strata: dict[str, list[list[Record]]] = collections.defaultdict(list)
  for members in groups.values():
    strata[min({r.label for r in members}, key=lambda label: (counts[label], label))].append(members)

  names, bounds = list(fractions), np.cumsum(list(fractions.values()))
  bounds[-1] = 1.0
  rng = np.random.default_rng(seed)
  splits: dict[str, list[Record]] = {name: [] for name in names}
  for label in sorted(strata):
    stratum = sorted(strata[label], key=lambda members: members[0].image_id)
    total, taken = sum(map(len, stratum)), 0
    for i in rng.permutation(len(stratum)):
      middle = (taken + len(stratum[i]) / 2) / total
      splits[names[int(np.searchsorted(bounds, middle))]].extend(stratum[i])
      taken += len(stratum[i])
  return splits


class ManualBuilder(tfds.core.GeneratorBasedBuilder):
  """A data set read from files the user downloaded. Subclasses set `LABELS`, `REQUIRED`
  (paths the manual directory must hold), `MANUAL_DOWNLOAD_INSTRUCTIONS`, `HOMEPAGE`,
  `CITATION` and define `read_records`."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  BUILDER_CONFIGS = [Config(name='official', description='The splits as released.')]
  LABELS: tuple[str, ...]
  REQUIRED: tuple[str, ...]
  HOMEPAGE: str
  CITATION: str
  ENCODING = 'jpeg'

  def read_records(self, manual: epath.Path, bad: OnBad) -> dict[str, list[Record]]:
    """{split: records} from the manual directory; rows that cannot be used go to `bad`."""
    raise NotImplementedError

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=features(self.LABELS, self.ENCODING),
      supervised_keys=('image', 'label'),
      homepage=self.HOMEPAGE,
      citation=self.CITATION,
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual = manual_dir(dl_manager, self.name, self.REQUIRED, self.MANUAL_DOWNLOAD_INSTRUCTIONS)
    self._skipped: list[str] = []
    parts = {split: self._checked(records) for split, records in self.read_records(manual, self._bad).items()}
    c = self.builder_config
    if c.validation_fraction or c.test_fraction:
      carved = {'validation': c.validation_fraction, 'test': c.test_fraction}
      fractions = {k: v for k, v in carved.items() if v}
      renamed = {f'official_{k}': parts.pop(k) for k in fractions if k in parts}
      fractions['train'] = 1.0 - sum(fractions.values())
      parts = {**grouped_split(parts.pop('train'), fractions, c.seed), **parts, **renamed}
    return {split: self._generate_examples(records) for split, records in parts.items()}

  def _bad(self, error: BadInput) -> None:
    if not self.builder_config.skip_bad:
      raise error
    logging.warning('%s: skipped: %s', self.name, error)
    self._skipped.append(str(error))

  def _checked(self, records: Iterable[Record]) -> list[Record]:
    """The records whose label is known and whose image file exists (before hours of work)."""
    kept = []
    for r in records:
      if r.label not in self.LABELS:
        self._bad(BadInput(f'{r.where}: label {r.label!r}; expected one of {list(self.LABELS)}.'))
      elif isinstance(r.image, epath.Path) and not r.image.is_file():
        self._bad(BadInput(f'{r.where}: image {r.image} does not exist.'))
      else:
        kept.append(r)
    return kept

  def _generate_examples(self, records: list[Record]):
    for r in records:
      try:
        image = encode(r.image, r.where, self.builder_config.image_size, self.ENCODING)
      except BadInput as e:
        self._bad(e)
        continue
      fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name != 'where'}
      yield r.image_id, {**fields, 'image': image}
    (self.data_path / SKIPPED_FILE).write_text(''.join(f'{s}\n' for s in self._skipped))
    if self._skipped:
      logging.warning('%s: %d examples skipped so far; listed in %s.', self.name, len(self._skipped), SKIPPED_FILE)


def skipped(builder: tfds.core.DatasetBuilder) -> list[str]:
  """What a build with `skip_bad` left out, one reason per example."""
  return (epath.Path(builder.data_dir) / SKIPPED_FILE).read_text().splitlines()
