"""Layers, blocks and networks; `build(name, ...)` makes any registered network."""

from skinjax.models import cancernet_sca, cancernet_sca_dc_ac, mobilenet, resnet  # noqa: F401  (registers them)
from skinjax.models.registry import build, names

__all__ = ['build', 'names']
