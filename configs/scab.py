r"""Cancer-Net SCa-B, benign vs malignant (Lee et al., BMC Medical Imaging 2022).

Reproduces the paper's training setup for its Table 1 and 2 rows: the published ISIC split
(17,327 / 436 / 442 images in the published lists), 224x224 inputs, flips, Adam with learning
rate 1e-4 (beta1 = the paper's "momentum" 0.9), 80 epochs.

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
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = 'cancernet_sca'
  config.dataset.builder_config = ml_collections.ConfigDict()  # Fields of the builder's config.
  config.dataset.data_dir = ml_collections.config_dict.placeholder(str)  # None: TFDS's default.
  config.dataset.manual_dir = ml_collections.config_dict.placeholder(str)
  config.dataset.train_split = 'train'
  config.dataset.eval_splits = ('validation', 'test')
  config.dataset.image_size = 224
  config.dataset.resize = 'crop'  # Or 'pad' (see input_pipeline.resize).
  config.dataset.num_threads = 4
  config.dataset.metadata_dropout = 0.0  # Chance that a training example's metadata is hidden.
  # Class imbalance: `sampling` 'uniform', 'oversample' (class_ratios) or 'balanced_batches'
  # (positive_fraction of the last class per batch); `expand` {class: extra crop/mirror copies}.
  config.dataset.sampling = 'uniform'
  config.dataset.class_ratios = ()
  config.dataset.positive_fraction = 0.5
  config.dataset.expand = ml_collections.ConfigDict()
  # Each augmentation with its probability p (input_pipeline.augment): the paper's flips,
  # right-angle rotations and +-10% brightness and contrast are on; the others are off.
  config.dataset.augment = ml_collections.ConfigDict(
    dict(
      crop=dict(p=0.0, min_area=0.6),
      rotate=dict(p=0.0, degrees=30.0),
      shift=dict(p=0.0, fraction=0.1),
      zoom=dict(p=0.0, fraction=0.1),
      hflip=dict(p=0.5),
      vflip=dict(p=0.0),
      rot90=dict(p=0.75),
      brightness=dict(p=1.0, delta=0.1),
      contrast=dict(p=1.0, delta=0.1),
      saturation=dict(p=0.0, delta=0.1),
    )
  )

  config.model = ml_collections.ConfigDict()
  config.model.name = arg.model
  config.model.dropout = 0.2
  config.model.hidden = ()  # Dense layers of a new head (each with batch norm and ReLU).
  config.model.fusion = 'none'  # Or 'early' / 'late' fusion of encoded age, sex and site.
  config.precision = 'float32'  # Or 'bfloat16' compute (float32 weights and optimizer state).
  config.init_from = ''  # A workdir whose latest weights this run starts from.
  config.freeze_backbone = False  # Train only the head; the backbone's batch norms keep their statistics.
  config.stages = ()  # Overrides run one after the other, each from the last's weights (train.py).

  config.loss = ml_collections.ConfigDict()
  config.loss.name = 'softmax'  # Or 'sigmoid' per class, or 'focal'.
  config.loss.label_smoothing = 0.0
  config.loss.focal_gamma = 2.0
  config.loss.class_weights = 'none'  # Or 'inverse' frequency, 'effective' number, or '1,3.5'.

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = 'adam'
  config.optimizer.learning_rate = 1e-4
  config.optimizer.b1 = 0.9
  config.optimizer.weight_decay = 0.0
  config.optimizer.reference_batch_size = 0  # If set, learning_rate is scaled by batch_size / it.
  config.optimizer.schedule = 'constant'  # Or 'cosine', or 'step' (x decay_factor at each decay_at).
  config.optimizer.decay_at = ()  # Fractions of the steps after warm-up.
  config.optimizer.decay_factor = 0.1
  config.optimizer.warmup_steps = 0
  config.optimizer.clip_norm = 0.0  # Clip gradients to this global norm; 0: off.
  config.optimizer.ema_decay = 0.0  # Evaluate an exponential moving average of the weights; 0: off.
  # Reduce on plateau: the learning rate x factor after `patience` evaluations without a better
  # `metric` ('split/name'; a loss is minimised, others maximised); '' is off.
  config.optimizer.plateau = ml_collections.ConfigDict(dict(metric='', factor=0.4, patience=1))

  # Stop after `patience` evaluations without a better `metric`; report and keep the best.
  config.early_stopping = ml_collections.ConfigDict(dict(metric='', patience=3))

  config.batch_size = 32
  config.prefetch_to_device = 2  # Batches on their way to the devices ahead of the step.
  config.num_epochs = 80.0
  config.log_every_steps = 50
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 2

  if arg.demo:
    config.dataset.name = 'synthetic_lesions'
    config.dataset.builder_config = ml_collections.ConfigDict(
      dict(labels='binary', image_size=64, num_train=3000, num_validation=500, num_test=1000, seed=0)
    )
    config.dataset.image_size = 64
    config.optimizer.learning_rate = 3e-3
    config.optimizer.schedule = 'cosine'
    config.optimizer.warmup_steps = 50
    config.batch_size = 64
    config.num_epochs = 5.0
    config.log_every_steps = 20
    config.eval_every_steps = 100
    config.checkpoint_every_steps = 100
  return config
