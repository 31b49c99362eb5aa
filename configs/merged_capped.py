r"""Seven-class (here eight: ISIC 2019's) classifier on merged ISIC sets, capped per class (seed 003).

ISIC 2019, HAM10000 and ISIC 2020 merged into ISIC 2019's eight classes, duplicates removed by
image id, each class capped at 2,000 images, with a class-stratified 20% validation part
(`tfds_builders/merged`). The post fine-tunes an ImageNet ResNet-34 with fastai's defaults:
flips, rotations up to 10 degrees, zoom up to 10%, lighting changes, one-cycle training. A user
is shown the top three predictions, so `top3_accuracy` is reported with the others.

  python -m skinjax.main --config=configs/merged_capped.py --workdir=/tmp/merged

Not yet as in the post: ImageNet weights are loaded only once skinjax can convert them (issue
4). Warm-up then cosine decay stands in for fastai's one-cycle schedule; AdamW at 1e-3 with
weight decay 0.01 and 20 epochs are ours.

Arguments: `demo` (bool), `model` (a registered network).
"""

import ml_collections

from skinjax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, demo=False, model='resnet34')
  config = config_lib.base_config()
  config.dataset.name = 'merged'
  config.dataset.eval_splits = ('validation',)
  aug = config.dataset.augment
  aug.hflip.p = aug.vflip.p = 0.5
  aug.rotate.update(p=0.75, degrees=10.0)
  aug.zoom.update(p=0.75, fraction=0.1)
  aug.brightness.update(p=0.75, delta=0.2)
  aug.contrast.update(p=0.75, delta=0.2)
  config.model.update(name=arg.model, dropout=0.5)
  config.optimizer.update(name='adamw', learning_rate=1e-3, weight_decay=0.01, schedule='cosine', warmup_steps=500)
  config.batch_size = 64
  config.num_epochs = 20.0

  if arg.demo:
    config_lib.use_demo_data(config, labels='seven_class')
  return config
