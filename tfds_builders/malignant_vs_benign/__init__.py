"""Kaggle's "Skin Cancer: Malignant vs. Benign" class-folder layout."""

from tfds_builders.common import Config
from tfds_builders.malignant_vs_benign.malignant_vs_benign_dataset_builder import Builder

__all__ = ['Builder', 'Config']
