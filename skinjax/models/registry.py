"""Networks by name, so that a config can say `model.name = 'cancernet_sca_b'`."""

from collections.abc import Callable

from flax import nnx

from skinjax.models import heads

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


def build(
  name: str,
  *,
  num_classes: int,
  rngs: nnx.Rngs,
  hidden: tuple[int, ...] = (),
  fusion: str = 'none',
  metadata_features: int = 0,
  **kwargs,
) -> nnx.Module:
  """Builds the registered network `name`; with `hidden` layers or metadata `fusion`, its head
  is replaced by one of `heads.Headed` (called as `model(images, metadata)`)."""
  if name not in _MODELS:
    raise ValueError(f'Unknown model {name!r}; registered models: {", ".join(names())}.')
  model = _MODELS[name](num_classes=num_classes, rngs=rngs, **kwargs)
  if not hidden and fusion == 'none':
    return model
  return heads.Headed(
    model, num_classes=num_classes, hidden=hidden, fusion=fusion, metadata_features=metadata_features, rngs=rngs
  )
