"""ISIC 2019: eight diagnoses of dermoscopy images, with age, sex, site and lesion ids."""

from tfds_builders.common import Config
from tfds_builders.isic2019.isic2019_dataset_builder import Builder

__all__ = ['Builder', 'Config']
