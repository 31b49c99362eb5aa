"""isic2016: ISBI 2016 challenge, Part 3 (lesion classification), benign vs malignant."""

from tfds_builders.common import Config
from tfds_builders.isic2016.isic2016_dataset_builder import Builder

__all__ = ['Builder', 'Config']
