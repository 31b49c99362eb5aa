"""Layers, blocks and networks; `build(name, ...)` makes any registered network."""

from skinjax.models import (  # noqa: F401  (registers them)
  cancernet_sca,
  cancernet_sca_dc_ac,
  densenet,
  efficientnet,
  inception,
  mobilenet,
  nasnet,
  resnet,
  shufflenet,
  standard_cnn,
  vgg,
)
from skinjax.models.heads import frozen_modules, is_frozen
from skinjax.models.registry import build, names

__all__ = ['build', 'frozen_modules', 'is_frozen', 'names']
