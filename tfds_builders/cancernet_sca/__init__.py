"""The Cancer-Net SCa paper's benign/malignant split of ISIC archive images."""

from tfds_builders.cancernet_sca.cancernet_sca_dataset_builder import Builder

__all__ = ['Builder']
