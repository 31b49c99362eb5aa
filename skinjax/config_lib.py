"""Helpers for config files: parsing the `:arg` string of `--config=configs/x.py:arg`, and
setting fields by their dotted names."""

import copy
import importlib.util
import pathlib

import ml_collections


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses 'demo,model=cancernet_sca_c' into typed fields, like big_vision's `parse_arg`.

  Each field must be one of `defaults` and takes its type; a bare name sets a bool to True.
  """
  parsed = ml_collections.ConfigDict(defaults)
  for item in filter(None, (arg or '').split(',')):
    key, has_value, value = item.partition('=')
    if key not in defaults:
      raise ValueError(f'Unknown config argument {key!r} in {arg!r}; expected one of {sorted(defaults)}.')
    default = defaults[key]
    if not has_value:
      if not isinstance(default, bool):
        raise ValueError(f'Config argument {key!r} needs a value, e.g. {key}={default!r}.')
      parsed[key] = True
    elif isinstance(default, bool):
      if value.lower() not in ('true', 'false', '1', '0'):
        raise ValueError(f'Config argument {key!r} is a bool; got {value!r}.')
      parsed[key] = value.lower() in ('true', '1')
    else:
      parsed[key] = type(default)(value)
  return parsed


def load(spec: str) -> ml_collections.ConfigDict:
  """The config `--config=spec` gives, e.g. 'configs/scab.py:demo' (for notebooks and tests)."""
  path, _, arg = spec.partition(':')
  module_spec = importlib.util.spec_from_file_location(pathlib.Path(path).stem, path)
  if module_spec is None or not pathlib.Path(path).is_file():
    raise FileNotFoundError(f'{path}: no such config file.')
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg)


def with_overrides(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
  """A copy of `config` with dotted fields ('optimizer.learning_rate') set; a misspelt one is an error."""
  config = copy.deepcopy(config)
  config.unlock()
  for field, value in overrides.items():
    *parents, leaf = field.split('.')
    node = config
    for p in parents:
      node = node[p]
    if leaf not in node:
      raise KeyError(f'Config field {field!r} does not exist.')
    node[leaf] = type(node[leaf])(value) if isinstance(node[leaf], (int, float)) else value
  return config


def base_config() -> ml_collections.ConfigDict:
  """Every field a training config has, with neutral defaults (no augmentation, no weighting,
  image-only); each file in configs/ starts from it and sets what its paper did."""
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = ''  # A builder in tfds_builders/: 'name' or 'name/config'.
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
  # Each augmentation with its probability p and its magnitude (input_pipeline.augment); all off.
  config.dataset.augment = ml_collections.ConfigDict(
    dict(
      crop=dict(p=0.0, min_area=0.6),
      rotate=dict(p=0.0, degrees=30.0),
      shift=dict(p=0.0, fraction=0.1),
      zoom=dict(p=0.0, fraction=0.1),
      hflip=dict(p=0.0),
      vflip=dict(p=0.0),
      rot90=dict(p=0.0),
      brightness=dict(p=0.0, delta=0.1),
      contrast=dict(p=0.0, delta=0.1),
      saturation=dict(p=0.0, delta=0.1),
    )
  )

  config.model = ml_collections.ConfigDict()
  config.model.name = ''  # A registered network (skinjax.models.names()).
  config.model.dropout = 0.0
  config.model.pretrained = ''  # 'imagenet' (skinjax.weights.PRETRAINED) or a weights file to start from.
  config.model.head_init = ''  # The classifier's own initialisation, or 'kaiming' (He normal, zero bias).
  config.model.hidden = ()  # Dense layers of a new head (each with batch norm and ReLU).
  config.model.fusion = 'none'  # Or 'early' / 'late' fusion of encoded age, sex and site.
  config.precision = 'float32'  # Or 'bfloat16' compute (float32 weights and optimizer state).
  config.init_from = ''  # A workdir whose latest weights this run starts from.
  config.freeze_backbone = False  # Train only the head; the backbone's batch norms keep their statistics.
  config.trainable = ()  # With freeze_backbone: backbone layers that still train, e.g. ('blocks/layers/7',).
  config.stages = ()  # Overrides run one after the other, each from the last's weights (train.py).

  config.loss = ml_collections.ConfigDict()
  config.loss.name = 'softmax'  # Or 'sigmoid' per class, or 'focal'.
  config.loss.label_smoothing = 0.0
  config.loss.focal_gamma = 2.0
  config.loss.class_weights = 'none'  # Or 'inverse' frequency, 'effective' number, or '1,3.5'.

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = 'adam'
  config.optimizer.learning_rate = 1e-3
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
  config.num_epochs = 10.0
  config.log_every_steps = 50
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 2

  return config


def use_demo_data(config: ml_collections.ConfigDict, labels: str = 'binary') -> None:
  """Points `config` at skinjax's built-in synthetic lesions (64x64, `labels` 'binary' or
  'seven_class'; no download) with CPU-sized training: a few minutes on two cores."""
  config.dataset.name = 'synthetic_lesions'
  config.dataset.builder_config = ml_collections.ConfigDict(
    dict(labels=labels, image_size=64, num_train=3000, num_validation=500, num_test=1000, seed=0)
  )
  config.dataset.image_size = 64
  config.dataset.eval_splits = ('validation', 'test')
  config.optimizer.learning_rate = 3e-3
  config.optimizer.schedule = 'cosine'
  config.optimizer.warmup_steps = 50
  config.batch_size = 64
  config.num_epochs = 5.0
  config.log_every_steps = 20
  config.eval_every_steps = 100
  config.checkpoint_every_steps = 100
