"""The training loop: data-parallel `jax.jit` over a ('data',) mesh of every device on every host.

Parameters and optimizer state are replicated, each global batch is sharded over the mesh (batch
norm therefore sees the global batch, so the loss is the same on 1 device or 8). Model, optimizer,
step and the grain iterator's position are checkpointed together with orbax; restarting with the
same workdir resumes from the latest checkpoint and continues exactly as an uninterrupted run.
"""

import collections
import functools
import json
import math
import os
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

from skinjax import input_pipeline, metrics, models


class NonFiniteLossError(FloatingPointError):
  """The training loss became NaN or infinite."""


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: nnx.State
  model_state: nnx.State  # Everything but parameters and RNG streams: batch statistics.
  opt_state: optax.OptState


def create_optimizer(config: ml_collections.ConfigDict, total_steps: int) -> optax.GradientTransformation:
  """The optimizer and learning-rate schedule that `config.optimizer` names."""
  c = config.optimizer
  warmup = optax.linear_schedule(0.0, c.learning_rate, max(c.warmup_steps, 1))
  decay = {
    'constant': optax.constant_schedule(c.learning_rate),
    'cosine': optax.cosine_decay_schedule(c.learning_rate, max(total_steps - c.warmup_steps, 1)),
  }
  if c.schedule not in decay:
    raise ValueError(f'optimizer.schedule must be one of {sorted(decay)}, got {c.schedule!r}.')
  lr = optax.join_schedules([warmup, decay[c.schedule]], [c.warmup_steps])
  optimizers = {
    'adam': lambda: optax.adam(lr, b1=c.b1),
    'adamw': lambda: optax.adamw(lr, b1=c.b1, weight_decay=c.weight_decay),
    'sgd': lambda: optax.sgd(lr, momentum=c.b1, nesterov=True),
  }
  if c.name not in optimizers:
    raise ValueError(f'optimizer.name must be one of {sorted(optimizers)}, got {c.name!r}.')
  return optimizers[c.name]()


def train_step(state: TrainState, batch: dict, *, graphdef, rng_state, tx, class_weights) -> tuple[TrainState, dict]:
  """One optimizer step on a global batch; returns the new state and the batch's metrics. The
  loss is cross-entropy weighted by `class_weights[label]`."""
  # Dropout keys are the initial ones folded with the step: a resumed run draws the same masks.
  rng_state = jax.tree.map(
    lambda x: jax.random.fold_in(x, state.step) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x, rng_state
  )

  def loss_fn(params):
    model = nnx.merge(graphdef, rng_state, params, state.model_state, copy=True)
    model.train()
    logits = model(batch['image'])
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label'])
    weights = jax.nn.one_hot(batch['label'], len(class_weights)) @ class_weights  # A gather trips the mesh.
    loss = jnp.mean(losses * weights)
    return loss, (logits, nnx.state(model, nnx.Not(nnx.Any(nnx.Param, nnx.RngState))))

  (loss, (logits, model_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  new_state = state.replace(
    step=state.step + 1,
    params=optax.apply_updates(state.params, updates),
    model_state=model_state,
    opt_state=opt_state,
  )
  accuracy = jnp.mean(jnp.argmax(logits, -1) == batch['label'])
  return new_state, {'loss': loss, 'accuracy': accuracy}


def eval_step(state: TrainState, batch: dict, *, graphdef, rng_state) -> jax.Array:
  """Class probabilities of a global batch, in inference mode."""
  model = nnx.merge(graphdef, rng_state, state.params, state.model_state)
  model.eval()
  return jax.nn.softmax(model(batch['image']))


class Trainer:
  """Holds the compiled steps, the mesh and the model's static parts for one run."""

  def __init__(
    self, config: ml_collections.ConfigDict, num_classes: int, total_steps: int, class_weights: np.ndarray | None = None
  ):
    self.mesh = jax.make_mesh((jax.device_count(),), ('data',))
    self.data_sharding = NamedSharding(self.mesh, P('data'))
    self.replicated = NamedSharding(self.mesh, P())
    model = models.build(
      config.model.name,
      num_classes=num_classes,
      rngs=nnx.Rngs(params=config.seed, dropout=config.seed + 1),
      **{k: v for k, v in config.model.items() if k != 'name'},
    )
    self.graphdef, self.rng_state, params, model_state = nnx.split(model, nnx.RngState, nnx.Param, ...)
    tx = create_optimizer(config, total_steps)
    state = TrainState(step=jnp.array(0, jnp.int32), params=params, model_state=model_state, opt_state=tx.init(params))
    self.initial_state = jax.device_put(state, self.replicated)
    self.num_params = sum(x.size for x in jax.tree.leaves(params))
    statics = dict(graphdef=self.graphdef, rng_state=self.rng_state)
    weights = np.ones(num_classes) if class_weights is None else class_weights
    self.train_step = jax.jit(
      functools.partial(train_step, tx=tx, class_weights=np.asarray(weights, np.float32), **statics),
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

  def evaluate(self, state: TrainState, source, config, info: input_pipeline.DatasetInfo) -> dict[str, float]:
    """Metrics of the model on every example of `source`."""
    probs, labels, masks = [], [], []
    for batch in input_pipeline.eval_batches(source, config.dataset, info.features, config.batch_size):
      g = self.to_global(batch)
      out = self.eval_step(state, g)
      probs.append(multihost_utils.process_allgather(out, tiled=True))
      labels.append(multihost_utils.process_allgather(g['label'], tiled=True))
      masks.append(multihost_utils.process_allgather(g['mask'], tiled=True))
    keep = np.concatenate(masks) > 0
    return metrics.classification_metrics(np.concatenate(probs)[keep], np.concatenate(labels)[keep], info.class_names)


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


def _checkpoint_manager(workdir: epath.Path, config) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=config.keep_checkpoints, create=True)
  return ocp.CheckpointManager(workdir / 'checkpoints', options=options)


def _restore(mngr: ocp.CheckpointManager, trainer: Trainer, train_iter, config) -> TrainState:
  """The latest checkpoint's state (and iterator position), after checking it fits the model."""
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
  return restored['state']


def _save(mngr, step: int, state: TrainState, train_iter, trainer: Trainer, config) -> None:
  meta = {'model': config.model.name, 'num_params': trainer.num_params}
  mngr.save(
    step,
    args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      data=grain.checkpoint.CheckpointSave(train_iter),
      meta=ocp.args.JsonSave(meta),
    ),
    force=True,
  )


def _check_finite(step: int, metrics_: dict, image_ids) -> None:
  loss = float(metrics_['loss'])
  if not math.isfinite(loss):
    ids = ', '.join(i.decode() for i in image_ids[:16])
    raise NonFiniteLossError(f'Training loss is {loss} at step {step}; the batch held (first 16): {ids}.')


def _jsonable(results: dict[str, Any]) -> dict[str, Any]:
  """NaN (an undefined metric) becomes null, which JSON can hold."""
  if isinstance(results, dict):
    return {k: _jsonable(v) for k, v in results.items()}
  return None if isinstance(results, float) and math.isnan(results) else results


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, dict[str, float]]:
  """Trains `config.model` on `config.dataset`, evaluating on `config.dataset.eval_splits`.

  Returns the final evaluation, {split: {metric: value}}, also written to `workdir/metrics.json`.
  """
  workdir = epath.Path(workdir)
  if not workdir.is_absolute():  # Orbax wants absolute paths.
    workdir = epath.Path(os.path.abspath(workdir))
  workdir.mkdir(parents=True, exist_ok=True)
  if config.batch_size % jax.device_count():
    raise ValueError(f'batch_size {config.batch_size} must be divisible by the {jax.device_count()} devices.')
  info, host_iter, eval_sources = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  total_steps = max(1, int(config.num_epochs * info.num_train / config.batch_size))
  weights = input_pipeline.class_weights(info.class_counts, config.class_weights)
  trainer = Trainer(config, info.num_classes, total_steps, weights)
  train_iter = DevicePrefetch(host_iter, trainer.to_global, config.prefetch_to_device)
  logging.info('Training classes %s: counts %s, loss weights %s.', info.class_names, info.class_counts, weights)
  logging.info(
    'Model %s: %d parameters; %d steps of %d images.',
    config.model.name,
    trainer.num_params,
    total_steps,
    config.batch_size,
  )

  writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
  mngr = _checkpoint_manager(workdir, config)
  if mngr.latest_step() is not None:
    state = _restore(mngr, trainer, train_iter, config)
  else:
    state = trainer.initial_state
    writer.write_hparams(_flatten(config.to_dict()))
  first_step = int(state.step) + 1

  hooks = []
  if jax.process_index() == 0:
    hooks.append(
      periodic_actions.ReportProgress(num_train_steps=total_steps, writer=writer, every_steps=config.log_every_steps)
    )
  results: dict[str, dict[str, float]] = {}
  history, pending = [], None
  for step in range(first_step, total_steps + 1):
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
      writer.write_scalars(step, {f'train/{k}': float(np.mean([m[k] for m in fetched])) for k in fetched[0]})
      history = []
    if step % config.eval_every_steps == 0 or last:
      results = {s: trainer.evaluate(state, src, config, info) for s, src in eval_sources.items()}
      for split, values in results.items():
        writer.write_scalars(step, {f'{split}/{k}': v for k, v in values.items() if '/' not in k})
      if jax.process_index() == 0:
        (workdir / 'metrics.json').write_text(json.dumps(_jsonable({'step': step, **results}), indent=2))
    if step % config.checkpoint_every_steps == 0 or last or mngr.reached_preemption(step):
      _save(mngr, step, state, train_iter, trainer, config)
      if mngr.reached_preemption(step) and not last:
        mngr.wait_until_finished()
        logging.warning('Preempted at step %d; the run resumes from here when restarted.', step)
        return results
  mngr.wait_until_finished()
  writer.flush()
  return results


def _flatten(d: dict, prefix: str = '') -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v if isinstance(v, (int, float, str, bool)) else str(v)
  return out
