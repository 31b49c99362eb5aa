"""Helpers for the builders' tests: the shared real files, stand-in images, one-call builds."""

import io
import os
import pathlib
import shutil
from collections.abc import Iterable

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

SHARED = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data'
CSV = SHARED / 'isic_csv'
HAM = SHARED / 'isic2018_task3_subset'
needs_shared = pytest.mark.skipif(not CSV.is_dir(), reason=f'needs the shared ISIC files at {SHARED}')


def jpeg(size=(10, 8), value=120, **save) -> bytes:
  out = io.BytesIO()
  Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(out, 'JPEG', **save)
  return out.getvalue()


def stand_ins(folder: pathlib.Path, image_ids: Iterable[str]) -> None:
  """A small JPEG for each id (hard links of one file: tens of thousands cost nothing)."""
  folder.mkdir(parents=True, exist_ok=True)
  first = None
  for image_id in image_ids:
    path = folder / f'{image_id}.jpg'
    if first is None:
      path.write_bytes(jpeg())
      first = path
    elif not path.exists():
      os.link(first, path)


def copy(name: str, manual: pathlib.Path, source: pathlib.Path = CSV) -> pathlib.Path:
  manual.mkdir(parents=True, exist_ok=True)
  return pathlib.Path(shutil.copy(source / name, manual / name))


def replace_line(path: pathlib.Path, index: int, line: str) -> None:
  """Line `index` (0: the first) of a text file replaced by `line`."""
  lines = path.read_text().splitlines()
  lines[index] = line
  path.write_text('\n'.join(lines) + '\n')


def ids(csv_path: pathlib.Path, header: bool = True) -> list[str]:
  lines = csv_path.read_text().splitlines()[1 if header else 0 :]
  return [line.split(',')[0] for line in lines if line]


def build(module, manual: pathlib.Path, data_dir: pathlib.Path, config: str | None = None, **fields):
  """`module.Builder` prepared as array_record from `manual`; `fields` make a custom config."""
  if fields:
    config = module.Config.make(**fields)
  builder = module.Builder(config=config, data_dir=data_dir) if config else module.Builder(data_dir=data_dir)
  download_config = tfds.download.DownloadConfig(manual_dir=str(manual))
  builder.download_and_prepare(file_format='array_record', download_config=download_config)
  return builder


def examples(builder, split: str) -> list[dict]:
  """Every example of a split, images left encoded (fast)."""
  return list(builder.as_data_source(split=split, decoders={'image': tfds.decode.SkipDecoding()}))


def column(builder, split: str, feature: str) -> list:
  """One feature of every example of a split, decoded to str for text and class labels."""
  info = builder.info.features[feature]
  values = [e[feature] for e in examples(builder, split)]
  if isinstance(info, tfds.features.ClassLabel):
    return [info.int2str(int(v)) for v in values]
  return [v.decode() if isinstance(v, bytes) else v for v in values]
