"""cancernet_sca: the Cancer-Net SCa paper's ISIC split, benign (0) vs malignant (1)."""

from tfds_builders.cancernet_sca.cancernet_sca_dataset_builder import Builder
from tfds_builders.common import Config

__all__ = ['Builder', 'Config']
