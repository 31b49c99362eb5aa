"""Weights from elsewhere: named tensors assigned to a network's parameters and batch statistics,
with every missing, unexpected or mis-shaped name reported (`fill`); ImageNet weights for the
networks whose weights can be had offline, and converters for files users bring (`pretrained`)."""

from skinjax.weights.assign import fill, flatten, path_names
from skinjax.weights.pretrained import CONVERTERS, PRETRAINED, load_pretrained

__all__ = ['CONVERTERS', 'PRETRAINED', 'fill', 'flatten', 'load_pretrained', 'path_names']
