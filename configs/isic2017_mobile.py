r"""Mobile networks on ISIC 2017 Part 3, in two stages (Yilmaz et al.; seed 002).

MobileNet and NASNetMobile (in Keras Applications' layouts, as the paper used Keras) and
MobileNetV2 (torchvision's layout), with global average pooling, three new dense layers and
dropout 0.2, on the three ISIC 2017 classes at 224x224. Stage 1 trains the new
layers on a frozen ImageNet backbone; stage 2 fine-tunes every layer at a lower learning rate.
The paper compares batch sizes 16, 32 and 64: `config.grid` runs all of them.

  python -m skinjax.main --config=configs/isic2017_mobile.py:model=mobilenet_v1,batch=16 --workdir=/tmp/m1_16
  python -m skinjax.runs grid --config=configs/isic2017_mobile.py --workdir=/tmp/mobile

Not yet as in the paper: the networks start from random weights unless given a Keras file of
ImageNet weights for MobileNet or NASNetMobile (`--config.model.pretrained=mobilenet.h5`; Keras
downloads them where there is internet access). The paper gives 150 epochs in all but not how
they split between the stages, nor the dense layers' widths or the learning rates: 10 + 140
epochs, widths (256, 128, 64) and 1e-3 then 1e-5 are ours.

Arguments: `demo` (bool), `model` (a registered network), `batch` (batch size).
"""

import ml_collections

from skinjax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, demo=False, model='mobilenet_v2', batch=16)
  config = config_lib.base_config()
  config.dataset.name = 'isic2017'
  aug = config.dataset.augment
  aug.rotate.update(p=0.5, degrees=30.0)
  aug.hflip.p = aug.vflip.p = 0.5
  aug.zoom.update(p=0.5, fraction=0.1)
  config.model.update(name=arg.model, dropout=0.2, hidden=(256, 128, 64))
  config.optimizer.name = 'adam'
  config.batch_size = arg.batch
  config.stages = (
    {'freeze_backbone': True, 'num_epochs': 10.0, 'optimizer.learning_rate': 1e-3},
    {'num_epochs': 140.0, 'optimizer.learning_rate': 1e-5},
  )
  config.grid = (('model.name', ('mobilenet_v1', 'mobilenet_v2', 'nasnet_mobile')), ('batch_size', (16, 32, 64)))

  if arg.demo:
    config_lib.use_demo_data(config, labels='seven_class')
    config.stages = (
      {'freeze_backbone': True, 'num_epochs': 1.0, 'optimizer.learning_rate': 3e-3},
      {'num_epochs': 4.0, 'optimizer.learning_rate': 1e-3},
    )
  return config
