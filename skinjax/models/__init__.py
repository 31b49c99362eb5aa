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
from skinjax.models.heads import backbone_modules, in_backbone
from skinjax.models.registry import build, names

__all__ = ['backbone_modules', 'build', 'in_backbone', 'names']
