r"""ResNet-50 on HAM10000's seven classes, with imbalance handled (seed 004).

An ImageNet ResNet-50 whose classifier is replaced by dense layers of 120 and 84 units with ReLU
and batch norm, trained with horizontal mirroring, a class-weighted loss (inverse frequency),
and the rare classes expanded: dermatofibroma and vascular lesions by 8 extra crop-and-mirror
copies each (4 random central crops and their mirror images), actinic keratoses by one. The
headline metric is mean class precision (`mean_class_precision`), which early stopping follows.
Training is on ISIC 2018 Task 3 (HAM10000) with a lesion-grouped validation part.

  python -m skinjax.main --config=configs/ham10000_resnet50.py --workdir=/tmp/ham

Not yet as in the post: ImageNet weights are loaded only once skinjax can convert them (issue
4). The post gives neither learning rate nor epochs: Adam at 1e-4 for 30 epochs are ours.

Arguments: `demo` (bool).
"""

import ml_collections

from skinjax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, demo=False)
  config = config_lib.base_config()
  config.dataset.name = 'isic2018_task3/lesion_split'
  config.dataset.eval_splits = ('validation',)
  config.dataset.augment.hflip.p = 0.5
  config.dataset.expand = ml_collections.ConfigDict({'df': 8, 'vasc': 8, 'akiec': 1})
  config.loss.class_weights = 'inverse'
  config.model.update(name='resnet50', hidden=(120, 84))
  config.optimizer.name = 'adam'
  config.optimizer.learning_rate = 1e-4
  config.early_stopping.update(metric='validation/mean_class_precision', patience=5)
  config.batch_size = 32
  config.num_epochs = 30.0
  config.eval_every_steps = config.checkpoint_every_steps = 500

  if arg.demo:
    config_lib.use_demo_data(config, labels='seven_class')
    config.dataset.eval_splits = ('validation', 'test')
  return config
