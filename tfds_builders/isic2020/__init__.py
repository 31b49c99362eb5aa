"""ISIC 2020 (SIIM-ISIC melanoma): benign vs malignant, with patient ids and metadata."""

from tfds_builders.isic2020.isic2020_dataset_builder import Builder, Config

__all__ = ['Builder', 'Config']
