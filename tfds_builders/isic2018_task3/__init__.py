"""ISIC 2018 Task 3 / HAM10000: seven diagnoses of dermoscopy images, with metadata."""

from tfds_builders.common import Config
from tfds_builders.isic2018_task3.isic2018_task3_dataset_builder import Builder

__all__ = ['Builder', 'Config']
