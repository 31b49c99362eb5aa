"""Helpers for config files: parsing the `:arg` string of `--config=configs/x.py:arg`, and
setting fields by their dotted names."""

import copy

import ml_collections


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses 'demo,model=cancernet_sca_c' into typed fields, like big_vision's `parse_arg`.

  Each field must be one of `defaults` and takes its type; a bare name sets a bool to True.
  """
  parsed = ml_collections.ConfigDict(defaults)
  for item in filter(None, (arg or '').split(',')):
    key, has_value, value = item.partition('=')
    if key not in defaults:
      raise ValueError(f'Unknown config argument {key!r} in {arg!r}; expected one of {sorted(defaults)}.')
    default = defaults[key]
    if not has_value:
      if not isinstance(default, bool):
        raise ValueError(f'Config argument {key!r} needs a value, e.g. {key}={default!r}.')
      parsed[key] = True
    elif isinstance(default, bool):
      if value.lower() not in ('true', 'false', '1', '0'):
        raise ValueError(f'Config argument {key!r} is a bool; got {value!r}.')
      parsed[key] = value.lower() in ('true', '1')
    else:
      parsed[key] = type(default)(value)
  return parsed


def with_overrides(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
  """A copy of `config` with dotted fields ('optimizer.learning_rate') set; a misspelt one is an error."""
  config = copy.deepcopy(config)
  config.unlock()
  for field, value in overrides.items():
    *parents, leaf = field.split('.')
    node = config
    for p in parents:
      node = node[p]
    if leaf not in node:
      raise KeyError(f'Config field {field!r} does not exist.')
    node[leaf] = type(node[leaf])(value) if isinstance(node[leaf], (int, float)) else value
  return config
