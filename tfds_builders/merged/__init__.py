"""Several ISIC sources in one label space, capped per class (seed 003)."""

from tfds_builders.merged.merged_dataset_builder import Builder, Config

__all__ = ['Builder', 'Config']
