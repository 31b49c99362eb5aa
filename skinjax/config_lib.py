"""Helpers for config files: parsing the `:arg` string of `--config=configs/x.py:arg`."""

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
