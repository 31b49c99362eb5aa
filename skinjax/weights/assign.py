"""Assigning named arrays to an `nnx.State`, refusing a partial or mis-shaped load unless asked."""

import jax
import numpy as np
from absl import logging
from flax import nnx


def path_names(path) -> tuple[str, ...]:
  """A pytree path as names: ('layers', '0', 'conv', 'kernel'), leaving out nnx's 'value'."""
  names = (str(getattr(k, 'key', getattr(k, 'name', getattr(k, 'idx', k)))) for k in path)
  return tuple(n for n in names if n != 'value')


def flatten(tree) -> dict[tuple[str, ...], np.ndarray]:
  return {path_names(p): v for p, v in jax.tree_util.tree_flatten_with_path(tree)[0]}


def fill(
  state: nnx.State, tensors: dict[tuple[str, ...], np.ndarray], source: str, skip: tuple[str, ...] = ()
) -> nnx.State:
  """`state` with each entry replaced by the array of the same name in `tensors` (from `source`).

  Every name of `state` must be given, every given name must exist, shapes must agree: otherwise
  a ValueError lists each problem by name. Names starting with one of `skip` (say 'head', for a
  new classifier) are left as they are, and logged.
  """
  pure = state.to_pure_dict()
  ours = flatten(pure)
  skipped = {k for k in ours if k[0] in skip}
  problems = [f'missing {"/".join(k)}' for k in ours.keys() - tensors.keys() - skipped]
  problems += [f'unexpected {"/".join(k)}' for k in tensors.keys() - ours.keys() if k[0] not in skip]
  problems += [
    f'{"/".join(k)} has shape {np.shape(tensors[k])}, expected {ours[k].shape}'
    for k in (ours.keys() & tensors.keys()) - skipped
    if np.shape(tensors[k]) != ours[k].shape
  ]
  if problems:
    raise ValueError(f'{source} does not fit this network: ' + '; '.join(sorted(problems)[:20]))
  values = jax.tree_util.tree_map_with_path(
    lambda p, v: v if path_names(p) in skipped else np.asarray(tensors[path_names(p)], v.dtype), pure
  )
  new = jax.tree.map(lambda x: x, state)
  new.replace_by_pure_dict(values)
  if skipped:
    logging.info(
      'Not loaded from %s (kept as initialised): %s', source, ', '.join(sorted('/'.join(k) for k in skipped))
    )
  return new
