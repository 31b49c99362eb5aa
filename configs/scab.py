r"""Cancer-Net SCa-B, benign vs malignant (Lee et al., BMC Medical Imaging 2022).

Reproduces the paper's training setup for its Table 1 and 2 rows: the published ISIC split
(17,327 / 436 / 442 images in the published lists), 224x224 inputs, flips, Adam with learning
rate 1e-4 (beta1 = the paper's "momentum" 0.9), 80 epochs, batch rebalancing (half of every
batch malignant). `model` picks SCa-A/B/C (`cancernet_sca_a|b|c`) or a baseline the paper
compares with (`mobilenet_v2`, `resnet50`, `densenet121`, `inception_v3`).

  python -m skinjax.main --config=configs/scab.py --workdir=/tmp/scab
  python -m skinjax.main --config=configs/scab.py:model=cancernet_sca_c --workdir=/tmp/scac

The `demo` variant trains on skinjax's built-in synthetic lesions at 64x64 with CPU-sized
settings (a few minutes on two cores), and needs no download:

  python -m skinjax.main --config=configs/scab.py:demo --workdir=/tmp/demo

Arguments: `demo` (bool), `model` (a registered network name).
"""

import ml_collections

from skinjax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, demo=False, model='cancernet_sca_b')
  config = config_lib.base_config()
  config.dataset.name = 'cancernet_sca'
  # The paper's batch rebalancing: half of every batch malignant.
  config.dataset.sampling = 'balanced_batches'
  config.dataset.positive_fraction = 0.5
  # Flips, right-angle rotations, +-10% brightness and contrast (the paper's augmentations).
  config.dataset.augment.hflip.p = 0.5
  config.dataset.augment.rot90.p = 0.75
  config.dataset.augment.brightness.p = 1.0
  config.dataset.augment.contrast.p = 1.0
  config.model.name = arg.model
  config.model.dropout = 0.2
  config.optimizer.name = 'adam'
  config.optimizer.learning_rate = 1e-4
  config.optimizer.b1 = 0.9
  config.batch_size = 32
  config.num_epochs = 80.0

  if arg.demo:
    config_lib.use_demo_data(config)
  return config
