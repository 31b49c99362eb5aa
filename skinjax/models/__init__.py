"""Layers, blocks and networks; `build(name, ...)` makes any registered network."""

from skinjax.models import cancernet_sca, cancernet_sca_dc_ac, mobilenet, resnet, standard_cnn  # noqa: F401
from skinjax.models.registry import build, names

__all__ = ['build', 'names']
