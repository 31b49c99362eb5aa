"""The training loop: data-parallel `jax.jit` over a ('data',) mesh of every device on every host.

Parameters and optimizer state are replicated, each global batch is sharded over the mesh (batch
norm therefore sees the global batch, so the loss is the same on 1 device or 8). Model, optimizer,
step and the grain iterator's position are checkpointed together with orbax; restarting with the
same workdir resumes from the latest checkpoint and continues exactly as an uninterrupted run.
"""

import collections
import contextlib
import dataclasses
import functools
import json
import math
import os
import signal
import threading
from typing import Any

import flax
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
from absl import logging
from clu import metric_writers, periodic_actions
from etils import epath
from flax import nnx
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from skinjax import config_lib, input_pipeline, losses, metrics, models, weights

# Compute dtypes of `config.precision`; parameters and optimizer state stay float32.
PRECISIONS = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


class NonFiniteLossError(FloatingPointError):
  """The training loss became NaN or infinite."""


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: nnx.State
  model_state: nnx.State  # Everything but parameters and RNG streams: batch statistics.
  opt_state: optax.OptState
  lr_scale: jax.Array  # Lowered by reduce-on-plateau; multiplies every update.
  ema_params: nnx.State | None  # Exponential moving average of `params` when optimizer.ema_decay > 0.
  rngs: nnx.State  # The model's initial RNG streams (dropout), folded with the step when used.


def _average_from(params: nnx.State) -> nnx.State:
  """A moving average of the weights that starts at `params`, in buffers of its own: the train
  step donates its state, and XLA refuses a buffer donated twice."""
  return jax.tree.map(jnp.copy, params)


def create_optimizer(config: ml_collections.ConfigDict, total_steps: int) -> optax.GradientTransformation:
  """The optimizer, learning-rate schedule and gradient clipping that `config.optimizer` names.

  The learning rate is `learning_rate * batch_size / reference_batch_size` when a reference
  batch size is set (the linear scaling rule of Goyal et al., 2017), so a config tuned on one
  host keeps its per-example step when the global batch grows with the hosts.
  """
  c = config.optimizer
  base = c.learning_rate * (config.batch_size / c.reference_batch_size if c.reference_batch_size else 1.0)
  warmup = optax.linear_schedule(0.0, base, max(c.warmup_steps, 1))
  after = max(total_steps - c.warmup_steps, 1)
  decay = {
    'constant': lambda: optax.constant_schedule(base),
    'cosine': lambda: optax.cosine_decay_schedule(base, after),
    'step': lambda: optax.piecewise_constant_schedule(base, {int(f * after): c.decay_factor for f in c.decay_at}),
  }
  if c.schedule not in decay:
    raise ValueError(f'optimizer.schedule must be one of {sorted(decay)}, got {c.schedule!r}.')
  lr = optax.join_schedules([warmup, decay[c.schedule]()], [c.warmup_steps])
  optimizers = {
    'adam': lambda: optax.adam(lr, b1=c.b1),
    'adamw': lambda: optax.adamw(lr, b1=c.b1, weight_decay=c.weight_decay),
    'sgd': lambda: optax.sgd(lr, momentum=c.b1, nesterov=True),
  }
  if c.name not in optimizers:
    raise ValueError(f'optimizer.name must be one of {sorted(optimizers)}, got {c.name!r}.')
  if c.clip_norm:
    return optax.chain(optax.clip_by_global_norm(c.clip_norm), optimizers[c.name]())
  return optimizers[c.name]()


def train_step(
  state: TrainState, batch: dict, *, graphdef, tx, config, class_weights, fused, dtype
) -> tuple[TrainState, dict]:
  """One optimizer step on a global batch; returns the new state and the batch's metrics."""
  # Dropout keys are the initial ones folded with the step: a resumed run draws the same masks.
  rng_state = jax.tree.map(
    lambda x: jax.random.fold_in(x, state.step) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x, state.rngs
  )

  def loss_fn(params):
    compute_params = jax.tree.map(lambda p: p.astype(dtype), params)  # Float32 master weights.
    model = nnx.merge(graphdef, rng_state, compute_params, state.model_state, copy=True)
    model.train()
    if config.freeze_backbone:  # Its batch norms keep their statistics, as Keras' frozen layers.
      for module in models.frozen_modules(model, config.trainable):
        module.eval()
    logits = models.logits(model, batch['image'], batch['metadata'], fused)
    loss = losses.loss(logits, batch['label'], config.loss, class_weights)
    return loss, (logits, nnx.state(model, nnx.Not(nnx.Any(nnx.Param, nnx.RngState))))

  (loss, (logits, model_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  updates = jax.tree.map(lambda u: u * state.lr_scale, updates)
  params = optax.apply_updates(state.params, updates)
  decay = config.optimizer.ema_decay
  ema = (
    None
    if state.ema_params is None
    else jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, state.ema_params, params)
  )
  new_state = state.replace(
    step=state.step + 1, params=params, model_state=model_state, opt_state=opt_state, ema_params=ema
  )
  accuracy = jnp.mean(jnp.argmax(logits, -1) == batch['label'])
  return new_state, {'loss': loss, 'accuracy': accuracy}


def eval_step(state: TrainState, batch: dict, *, graphdef, config, fused, dtype) -> jax.Array:
  """Class probabilities of a global batch, in inference mode (with the averaged weights, if any)."""
  params = state.params if state.ema_params is None else state.ema_params
  params = jax.tree.map(lambda p: p.astype(dtype), params)
  model = nnx.merge(graphdef, state.rngs, params, state.model_state)
  model.eval()
  return losses.probabilities(models.logits(model, batch['image'], batch['metadata'], fused), config.loss)


class Trainer:
  """Holds the compiled steps, the mesh and the model's static parts for one run."""

  def __init__(self, config: ml_collections.ConfigDict, info: input_pipeline.DatasetInfo, total_steps: int):
    losses.check(config.loss)
    if config.precision not in PRECISIONS:
      raise ValueError(f'precision must be one of {sorted(PRECISIONS)}, got {config.precision!r}.')
    self.mesh = jax.make_mesh((jax.device_count(),), ('data',))
    self.data_sharding = NamedSharding(self.mesh, P('data'))
    self.replicated = NamedSharding(self.mesh, P())
    metadata_features = len(input_pipeline.unknown_metadata(info.features))
    model = models.build(
      config.model.name,
      num_classes=info.num_classes,
      metadata_features=metadata_features,
      rngs=nnx.Rngs(params=config.seed, dropout=config.seed + 1),
      **{k: v for k, v in config.model.items() if k not in ('name', 'pretrained', 'head_init')},
    )
    if config.model.pretrained:  # All but the (new) classifier.
      backbone = model.backbone if hasattr(model, 'backbone') else model
      weights.load_pretrained(backbone, config.model.name, config.model.pretrained, skip=('head',))
    if config.model.head_init == 'kaiming':  # He-normal weights, zero biases (seed 001's new head).
      kernel = model.head.kernel
      kernel.value = nnx.initializers.kaiming_normal()(jax.random.key(config.seed), kernel.value.shape)
      model.head.bias.value = jnp.zeros_like(model.head.bias.value)
    elif config.model.head_init:
      raise ValueError(f"model.head_init must be '' (the network's own) or 'kaiming', got {config.model.head_init!r}.")
    if config.trainable and not config.freeze_backbone:
      raise ValueError(
        f'trainable={tuple(config.trainable)} names layers that train in a frozen backbone; set freeze_backbone.'
      )
    dtype = PRECISIONS[config.precision]
    for _, module in nnx.iter_modules(model):
      if hasattr(module, 'dtype'):  # Normalize and Flax's layers compute in it (else batch norm's float32 statistics
        module.dtype = dtype  # would promote every layer after the first back to float32).
    self.graphdef, rngs, params, model_state = nnx.split(model, nnx.RngState, nnx.Param, ...)
    tx = create_optimizer(config, total_steps)
    if config.freeze_backbone:
      names = {weights.path_names(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]}
      for layer in config.trainable:
        if not any(models.is_frozen(model, n) and not models.is_frozen(model, n, (layer,)) for n in names):
          raise ValueError(f'trainable: {layer!r} names no layer of the backbone of {config.model.name}.')
      frozen = jax.tree_util.tree_map_with_path(
        lambda path, _: 'frozen' if models.is_frozen(model, weights.path_names(path), config.trainable) else 'train',
        params,
      )
      tx = optax.multi_transform({'train': tx, 'frozen': optax.set_to_zero()}, frozen)
    state = TrainState(
      step=jnp.array(0, jnp.int32),
      params=params,
      model_state=model_state,
      opt_state=tx.init(params),
      lr_scale=jnp.array(1.0, jnp.float32),
      ema_params=_average_from(params) if config.optimizer.ema_decay else None,
      rngs=rngs,
    )
    self.initial_state = jax.device_put(state, self.replicated)
    self.num_params = sum(x.size for x in jax.tree.leaves(params))
    self.class_weights = input_pipeline.class_weights(info.class_counts, config.loss.class_weights)
    # Everything that varies with the seed is in the state, so seeds share compiled steps.
    statics = dict(graphdef=self.graphdef, config=config, fused=config.model.fusion != 'none', dtype=dtype)
    self.train_step = jax.jit(
      functools.partial(train_step, tx=tx, class_weights=self.class_weights, **statics),
      in_shardings=(self.replicated, self.data_sharding),
      out_shardings=(self.replicated, self.replicated),
      donate_argnums=0,
    )
    self.eval_step = jax.jit(
      functools.partial(eval_step, **statics),
      in_shardings=(self.replicated, self.data_sharding),
      out_shardings=self.data_sharding,
    )

  def to_global(self, local_batch: dict) -> dict:
    """This host's part of a batch -> global arrays sharded over the mesh (ids stay on the host)."""
    return {
      k: jax.make_array_from_process_local_data(self.data_sharding, v)
      for k, v in local_batch.items()
      if k not in input_pipeline.HOST_KEYS
    }

  def predict(self, state: TrainState, source, config, info, transforms=(None,)) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities [N, K] and labels [N] of every example of `source`, in its order. With
    several `transforms` of the image batch (test-time augmentation; None is the identity) the
    probabilities are their mean."""
    probs, labels, masks = [], [], []
    for batch in input_pipeline.eval_batches(source, config.dataset, info.features, config.batch_size):
      outs = []
      for transform in transforms:
        images = batch['image'] if transform is None else np.ascontiguousarray(transform(batch['image']))
        outs.append(self.eval_step(state, self.to_global({**batch, 'image': images})))
      g = self.to_global(batch)
      probs.append(multihost_utils.process_allgather(sum(outs) / len(outs), tiled=True))
      labels.append(multihost_utils.process_allgather(g['label'], tiled=True))
      masks.append(multihost_utils.process_allgather(g['mask'], tiled=True))
    keep = np.concatenate(masks) > 0
    return np.concatenate(probs)[keep], np.concatenate(labels)[keep]

  def evaluate(self, state: TrainState, source, config, info: input_pipeline.DatasetInfo) -> dict[str, float]:
    """Metrics of the model on every example of `source`."""
    return metrics.classification_metrics(*self.predict(state, source, config, info), info.class_names)


def restore_weights(path: epath.Path, trainer: Trainer, step: int | None = None) -> tuple[TrainState, int]:
  """The trainer's initial state with the parameters, batch statistics and averaged weights
  (where both have them) of the checkpoint at `step` (default: the latest) in `path`, and that
  step. Names and shapes must match, so a checkpoint of another network is refused by name; the
  optimizer starts afresh."""
  with ocp.CheckpointManager(path.absolute()) as mngr:
    steps = list(mngr.all_steps())
    step = mngr.latest_step() if step is None else step
    if step is None or step not in steps:
      raise FileNotFoundError(f'There is no checkpoint {step or ""} in {path}; it holds steps {steps or "none"}.')
    saved = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))['state']
  where = f'{path}/{step}'
  state = trainer.initial_state
  params = weights.fill(state.params, weights.flatten(saved['params']), f'{where} (parameters)')
  stats = weights.fill(state.model_state, weights.flatten(saved['model_state']), f'{where} (statistics)')
  ema = None
  if state.ema_params is not None:
    saved_ema = saved.get('ema_params')
    ema = (
      _average_from(params) if saved_ema is None else weights.fill(state.ema_params, weights.flatten(saved_ema), where)
    )
  state = state.replace(params=params, model_state=stats, ema_params=ema)
  return jax.device_put(state, trainer.replicated), step


def init_from(workdir: str, trainer: Trainer) -> TrainState:
  """The trainer's initial state with the parameters and batch statistics of the latest
  checkpoint of another run in `workdir` (an earlier stage, say)."""
  path = epath.Path(workdir) / 'checkpoints'
  state, _ = restore_weights(path, trainer)
  logging.info('Initialised parameters and batch statistics from %s.', path)
  return state.replace(ema_params=None if state.ema_params is None else _average_from(state.params))


class DevicePrefetch:
  """Batches copied to the devices `depth` steps ahead of the loop, so the copy overlaps compute.

  Yields (global batch, host batch). Checkpoints through grain's handler like the iterator it
  wraps, but its state is the position after the last batch *handed out*, not after the last one
  read ahead: a resumed run sees exactly the batches an uninterrupted one would.
  """

  def __init__(self, iterator: grain.DatasetIterator, put, depth: int):
    self._iterator, self._put, self._depth = iterator, put, depth
    self._queue = collections.deque()
    self._state = iterator.get_state()

  def __iter__(self):
    return self

  def __next__(self) -> tuple[dict, dict]:
    while len(self._queue) <= self._depth:
      batch = next(self._iterator)
      self._queue.append((self._put(batch), batch, self._iterator.get_state()))
    global_batch, batch, self._state = self._queue.popleft()
    return global_batch, batch

  # grain.checkpoint's handler stores what get_state returns as text.
  def get_state(self) -> bytes:
    return json.dumps(self._state).encode()

  def set_state(self, state: bytes) -> None:
    self._queue.clear()
    self._state = json.loads(state)
    self._iterator.set_state(self._state)

  def start_prefetch(self) -> None:
    self._iterator.start_prefetch()


@dataclasses.dataclass
class Watch:
  """An evaluation metric followed across evaluations, e.g. 'validation/auroc' (one whose name
  holds 'loss' is minimised, any other maximised): its best value, when, and evaluations since."""

  metric: str
  best: float | None = None
  best_step: int = 0
  since_best: int = 0

  def update(self, results: dict[str, dict[str, float]], step: int) -> bool:
    """Records this evaluation; True if it is the best so far."""
    split, _, name = self.metric.partition('/')
    if name not in results.get(split, {}):
      known = [f'{s}/{k}' for s, values in results.items() for k in values if '/' not in k]
      raise ValueError(f'{self.metric!r} is not an evaluation metric; there are {known}.')
    value, sign = results[split][name], metrics.direction(name)
    if self.best is None or sign * value > sign * self.best:
      self.best, self.best_step, self.since_best = value, step, 0
      return True
    self.since_best += 1  # NaN never improves.
    return False


def _checkpoint_manager(path: epath.Path, max_to_keep: int) -> ocp.CheckpointManager:
  return ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))


def _restore(mngr: ocp.CheckpointManager, trainer: Trainer, train_iter, config) -> tuple[TrainState, dict]:
  """The latest checkpoint's state (and iterator position) and its record of the run, after
  checking it fits the model."""
  step = mngr.latest_step()
  meta = mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
  expected = {'model': config.model.name, 'num_params': trainer.num_params}
  if {k: meta.get(k) for k in expected} != expected:
    raise ValueError(
      f'The checkpoint at {mngr.directory}/{step} holds model {meta.get("model")!r} with '
      f'{meta.get("num_params")} parameters, but the config asks for {config.model.name!r} with '
      f'{trainer.num_params}. Use another --workdir, or the config that wrote this one.'
    )
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, trainer.initial_state)
  restored = mngr.restore(
    step,
    args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract), data=grain.checkpoint.CheckpointRestore(train_iter)
    ),
  )
  logging.info('Resumed from %s at step %d.', mngr.directory, step)
  return restored['state'], meta


def _check_finite(step: int, metrics_: dict, image_ids) -> None:
  loss = float(metrics_['loss'])
  if not math.isfinite(loss):
    ids = ', '.join(i.decode() for i in image_ids[:16])
    raise NonFiniteLossError(f'Training loss is {loss} at step {step}; the batch held (first 16): {ids}.')


def jsonable(value: Any) -> Any:
  """NaN (an undefined metric) becomes null, which JSON can hold."""
  if isinstance(value, dict):
    return {k: jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [jsonable(v) for v in value]
  return None if isinstance(value, float) and math.isnan(value) else value


@contextlib.contextmanager
def _sigterm_stops():
  """Within the context, SIGTERM sets the event it yields instead of killing the process, so the
  loop can checkpoint and return. On many hosts, orbax's preemption sync (which asks all hosts to
  stop at the same step) does this instead."""
  received = threading.Event()
  if jax.process_count() > 1 or threading.current_thread() is not threading.main_thread():
    yield received
    return
  previous = signal.signal(signal.SIGTERM, lambda *_: received.set())
  try:
    yield received
  finally:
    signal.signal(signal.SIGTERM, previous)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, dict[str, float]]:
  """Trains `config.model` on `config.dataset`, evaluating on `config.dataset.eval_splits`.

  Returns the final evaluation, {split: {metric: value}}, also written to `workdir/metrics.json`:
  the last one, or with early stopping the best one, whose state is kept in `workdir/best`.
  """
  workdir = epath.Path(workdir)
  if not workdir.is_absolute():  # Orbax wants absolute paths.
    workdir = epath.Path(os.path.abspath(workdir))
  workdir.mkdir(parents=True, exist_ok=True)
  if jax.process_index() == 0:  # What `skinjax.evaluate` rebuilds the run from.
    (workdir / 'config.json').write_text(config.to_json_best_effort(indent=2))
  if config.stages:
    return _train_stages(config, workdir)
  if config.batch_size % jax.device_count():
    raise ValueError(f'batch_size {config.batch_size} must be divisible by the {jax.device_count()} devices.')
  info, host_iter, eval_sources = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  if jax.process_index() == 0:  # What `skinjax.predict` needs without the data.
    (workdir / 'dataset.json').write_text(json.dumps(info.to_json(), indent=2))
  total_steps = max(1, int(config.num_epochs * info.num_train / config.batch_size))
  trainer = Trainer(config, info, total_steps)
  train_iter = DevicePrefetch(host_iter, trainer.to_global, config.prefetch_to_device)
  logging.info(
    'Training classes %s: counts %s, loss weights %s.', info.class_names, info.class_counts, trainer.class_weights
  )
  logging.info(
    'Model %s: %d parameters; %d steps of %d images.',
    config.model.name,
    trainer.num_params,
    total_steps,
    config.batch_size,
  )

  writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
  mngr = _checkpoint_manager(workdir / 'checkpoints', config.keep_checkpoints)
  best_mngr = _checkpoint_manager(workdir / 'best', 1)
  plateau, early = config.optimizer.plateau, config.early_stopping
  meta = {'model': config.model.name, 'num_params': trainer.num_params, 'results': {}, 'stopped': False}
  meta['plateau'] = dataclasses.asdict(Watch(plateau.metric)) if plateau.metric else None
  meta['early'] = dataclasses.asdict(Watch(early.metric)) if early.metric else None
  if mngr.latest_step() is not None:
    state, meta = _restore(mngr, trainer, train_iter, config)
  else:
    state = init_from(config.init_from, trainer) if config.init_from else trainer.initial_state
    writer.write_hparams(_flatten(config.to_dict()))
  plateau_watch = meta['plateau'] and Watch(**meta['plateau'])
  early_watch = meta['early'] and Watch(**meta['early'])

  def save(step):
    meta.update(plateau=plateau_watch and dataclasses.asdict(plateau_watch))
    meta.update(early=early_watch and dataclasses.asdict(early_watch))
    items = dict(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
    mngr.save(step, args=ocp.args.Composite(data=grain.checkpoint.CheckpointSave(train_iter), **items), force=True)

  hooks = []
  if jax.process_index() == 0:
    hooks.append(
      periodic_actions.ReportProgress(num_train_steps=total_steps, writer=writer, every_steps=config.log_every_steps)
    )
  history, pending = [], None
  steps = range(int(state.step) + 1, total_steps + 1) if not meta['stopped'] else range(0)
  with _sigterm_stops() as sigterm:
    for step in steps:
      with jax.profiler.StepTraceAnnotation('train', step_num=step):
        global_batch, batch = next(train_iter)
        state, step_metrics = trainer.train_step(state, global_batch)
      if pending is not None:  # Checked one step late, so the host never waits on the device.
        _check_finite(*pending)
      pending = (step, step_metrics, batch['image_id'])
      history.append(step_metrics)
      for hook in hooks:
        hook(step)

      last = step == total_steps
      if step % config.log_every_steps == 0 or last:
        _check_finite(*pending)
        fetched = jax.device_get(history)
        scalars = {f'train/{k}': float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
        writer.write_scalars(step, {**scalars, 'train/lr_scale': float(state.lr_scale)})
        history = []
      if step % config.eval_every_steps == 0 or last:
        results = {s: trainer.evaluate(state, src, config, info) for s, src in eval_sources.items()}
        for split, values in results.items():
          writer.write_scalars(step, {f'{split}/{k}': v for k, v in values.items() if '/' not in k})
        if plateau_watch and not plateau_watch.update(results, step) and plateau_watch.since_best >= plateau.patience:
          state, plateau_watch.since_best = state.replace(lr_scale=state.lr_scale * plateau.factor), 0
          logging.info(
            '%s has not improved for %d evaluations: learning rate x%g.',
            plateau.metric,
            plateau.patience,
            float(state.lr_scale),
          )
        if not early_watch:
          meta['results'] = {'step': step, **results}
        elif early_watch.update(results, step):
          meta['results'] = {'step': step, **results}
          best_mngr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state)), force=True)
        elif early_watch.since_best >= early.patience:
          meta['stopped'] = True
          logging.info('Early stop at step %d: %s was best at step %d.', step, early.metric, early_watch.best_step)
        if jax.process_index() == 0:
          (workdir / 'metrics.json').write_text(json.dumps(jsonable(meta['results']), indent=2))
      preempted = mngr.reached_preemption(step) or sigterm.is_set()
      if step % config.checkpoint_every_steps == 0 or last or preempted or meta['stopped']:
        save(step)
      if meta['stopped']:
        break
      if preempted and not last:
        logging.warning('Preempted at step %d; the run resumes from here when restarted.', step)
        break
  mngr.wait_until_finished()
  best_mngr.wait_until_finished()
  writer.flush()
  return {k: v for k, v in meta['results'].items() if k != 'step'}


def _train_stages(config: ml_collections.ConfigDict, workdir: epath.Path) -> dict[str, dict[str, float]]:
  """`config.stages` one after the other, in `workdir/stage_<n>`, each starting from the weights
  the one before ended with (seed 002: a frozen backbone, then fine-tuning all layers)."""
  results, previous = {}, config.init_from
  for i, overrides in enumerate(config.stages, 1):
    stage = config_lib.with_overrides(config, {**overrides, 'stages': (), 'init_from': previous})
    logging.info('Stage %d of %d: %s', i, len(config.stages), overrides)
    previous = str(workdir / f'stage_{i}')
    results = train_and_evaluate(stage, previous)
  if jax.process_index() == 0:
    (workdir / 'metrics.json').write_text((epath.Path(previous) / 'metrics.json').read_text())
  return results


def _flatten(d: dict, prefix: str = '') -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v if isinstance(v, (int, float, str, bool)) else str(v)
  return out
