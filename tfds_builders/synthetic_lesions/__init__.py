"""Synthetic dermoscopy-like lesions: skinjax's built-in data set."""

from tfds_builders.synthetic_lesions.synthetic_lesions_dataset_builder import Builder
from tfds_builders.synthetic_lesions.synthetic_lesions_dataset_builder import SyntheticLesionsConfig as Config

__all__ = ['Builder', 'Config']
