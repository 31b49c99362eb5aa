"""Networks by name, so that a config can say `model.name = 'cancernet_sca_b'`."""

from collections.abc import Callable

from flax import nnx

_MODELS: dict[str, Callable[..., nnx.Module]] = {}


def register(name: str):
  """Decorator: registers a network constructor `fn(*, num_classes, rngs, **kwargs)`."""

  def wrap(fn):
    if name in _MODELS:
      raise ValueError(f'Model {name!r} is registered twice.')
    _MODELS[name] = fn
    return fn

  return wrap


def names() -> list[str]:
  return sorted(_MODELS)


def build(name: str, *, num_classes: int, rngs: nnx.Rngs, **kwargs) -> nnx.Module:
  """Builds the registered network `name`."""
  if name not in _MODELS:
    raise ValueError(f'Unknown model {name!r}; registered models: {", ".join(names())}.')
  return _MODELS[name](num_classes=num_classes, rngs=rngs, **kwargs)
