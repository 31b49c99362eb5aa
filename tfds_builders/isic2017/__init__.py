"""isic2017: ISIC 2017 challenge, Part 3: melanoma, seborrheic keratosis or nevus."""

from tfds_builders.common import Config
from tfds_builders.isic2017.isic2017_dataset_builder import Builder

__all__ = ['Builder', 'Config']
