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
from skinjax.models.heads import classify, frozen_modules, is_frozen, logits
from skinjax.models.registry import build, names

__all__ = ['build', 'classify', 'frozen_modules', 'is_frozen', 'logits', 'names']
