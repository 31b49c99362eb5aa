"""dermamnist: MedMNIST's DermaMNIST, HAM10000 at 28x28 in seven classes, from `dermamnist.npz`."""

from tfds_builders.common import Config
from tfds_builders.dermamnist.dermamnist_dataset_builder import Builder

__all__ = ['Builder', 'Config']
