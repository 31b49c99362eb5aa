"""Weights from elsewhere: named tensors assigned to a network's parameters and batch statistics,
with every missing, unexpected or mis-shaped name reported (`fill`), and ImageNet weights for the
networks whose weights can be had offline (`pretrained`)."""

from skinjax.weights.assign import fill, flatten, path_names
from skinjax.weights.pretrained import PRETRAINED, load_pretrained

__all__ = ['PRETRAINED', 'fill', 'flatten', 'load_pretrained', 'path_names']
