"""The check every manually downloaded data set makes before it builds."""

from collections.abc import Sequence

import tensorflow_datasets as tfds
from etils import epath


def manual_dir(dl_manager: tfds.download.DownloadManager, dataset: str, required: Sequence[str], instructions: str):
  """The manual directory, once it holds every path in `required` ('a or b': either); else an
  error naming the missing ones and how to get them."""
  try:
    manual: epath.Path = dl_manager.manual_dir
  except AssertionError as e:  # Missing or empty; TFDS's message names the directory.
    raise FileNotFoundError(f'{dataset} needs a manual download. {e}') from e
  missing = [f for f in required if not any((manual / p).exists() for p in f.split(' or '))]
  if missing:
    raise FileNotFoundError(
      f'{dataset} needs a manual download; missing in {manual}: {", ".join(missing)}.\n{instructions}'
    )
  return manual
