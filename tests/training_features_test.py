"""Losses, metadata fusion, mixed precision, EMA, reduce-on-plateau, early stopping, SIGTERM."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from conftest import ROOT, tiny_config

from skinjax import config_lib, input_pipeline, losses, train, weights


def _loss_config(**fields):
  return ml_collections.ConfigDict({'name': 'softmax', 'label_smoothing': 0.0, 'focal_gamma': 2.0, **fields})


def test_losses_against_their_definitions():
  rng = np.random.default_rng(0)
  logits, labels = jnp.asarray(rng.normal(size=(16, 3)), jnp.float32), jnp.asarray(rng.integers(0, 3, 16))
  ones = jnp.ones(3)
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  np.testing.assert_allclose(losses.loss(logits, labels, _loss_config(), ones), ce.mean(), rtol=1e-6)
  # Focal loss with gamma 0 is cross-entropy; with gamma 2 it is (1 - p)^2 times it.
  np.testing.assert_allclose(losses.loss(logits, labels, _loss_config(name='focal', focal_gamma=0.0), ones), ce.mean())
  p = jax.nn.softmax(logits)[jnp.arange(16), labels]
  focal = losses.loss(logits, labels, _loss_config(name='focal'), ones)
  np.testing.assert_allclose(focal, ((1 - p) ** 2 * ce).mean(), rtol=1e-5)
  # Sigmoid: binary cross-entropy per class, one-vs-rest, summed over classes.
  y = np.eye(3)[labels]
  s = jax.nn.sigmoid(logits)
  bce = -(y * np.log(s) + (1 - y) * np.log(1 - s)).sum(1)
  np.testing.assert_allclose(losses.loss(logits, labels, _loss_config(name='sigmoid'), ones), bce.mean(), rtol=1e-5)
  np.testing.assert_allclose(losses.probabilities(logits, _loss_config(name='sigmoid')), s, rtol=1e-6)
  # Label smoothing 0.3 over 3 classes: targets 0.8 / 0.1 / 0.1.
  smoothed = -(np.where(y > 0, 0.8, 0.1) * jax.nn.log_softmax(logits)).sum(1)
  np.testing.assert_allclose(
    losses.loss(logits, labels, _loss_config(label_smoothing=0.3), ones), smoothed.mean(), rtol=1e-5
  )
  # Class weights multiply each example's loss by its label's weight.
  weights = jnp.array([1.0, 2.0, 5.0])
  np.testing.assert_allclose(
    losses.loss(logits, labels, _loss_config(), weights), (ce * weights[labels]).mean(), rtol=1e-6
  )
  with pytest.raises(ValueError, match="loss.name must be one of .* got 'hinge'"):
    losses.check(_loss_config(name='hinge'))


def test_watch_follows_the_best_value():
  auroc, loss = train.Watch('validation/auroc'), train.Watch('validation/log_loss')
  for step, (a, nll) in enumerate([(0.7, 0.5), (0.8, 0.6), (0.75, 0.4), (float('nan'), 0.4)], 1):
    auroc.update({'validation': {'auroc': a}}, step)
    loss.update({'validation': {'log_loss': nll}}, step)
  assert (auroc.best, auroc.best_step, auroc.since_best) == (0.8, 2, 2)
  assert (loss.best, loss.best_step, loss.since_best) == (0.4, 3, 1)  # A loss is minimised.
  with pytest.raises(
    ValueError, match=r"'validation/aucroc' is not an evaluation metric; there are \['validation/auroc'\]"
  ):
    train.Watch('validation/aucroc').update({'validation': {'auroc': 0.5, 'auroc/benign': 0.5}}, 1)


@pytest.fixture(scope='module')
def fusion_data(tmp_path_factory):
  """800 training and 1000 test images: enough to tell image-only from fused apart."""
  return tmp_path_factory.mktemp('tfds')


STEPS = 300


def _fit(data_dir, seed, **fields):
  """Test AUROC after `STEPS` steps at 4x4 pixels, where the image alone says little (AUROC about
  0.6) and the metadata more (0.75 for a logistic regression on it alone), with the test set's
  metadata as recorded, and hidden."""
  config = tiny_config(data_dir)
  config.dataset.builder_config.update(num_train=800, num_test=1000)
  config.dataset.update(sampling='uniform', image_size=4)
  config.update(batch_size=32, seed=seed)
  config.optimizer.update(warmup_steps=5, learning_rate=1e-3)
  for key, value in fields.items():
    section, name = key.split('__')
    config[section][name] = value
  info, it, sources = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  trainer = train.Trainer(config, info, STEPS)
  state = trainer.initial_state
  for _ in range(STEPS):
    state, _ = trainer.train_step(state, trainer.to_global(next(it)))
  test = sources['test']
  hidden = [{**test[i], **input_pipeline.unknown_record(info.features)} for i in range(len(test))]
  return trainer.evaluate(state, test, config, info)['auroc'], trainer.evaluate(state, hidden, config, info)['auroc']


def test_metadata_fusion_beats_image_only_and_survives_missing_metadata(fusion_data):
  """Means over three seeds. Measured: image only 0.614 (0.589 to 0.631); early fusion 0.720 and
  late 0.740, ahead of image only by 0.09 to 0.15 in every seed; with the metadata hidden, early
  0.611 and late 0.635 (each seed -0.03 to +0.06 from image only). At 8x8 pixels, Adam at 1e-4 and 200
  steps the fused networks had barely learnt the metadata (0.81 against 0.80): too close to test."""
  image_only = np.mean([_fit(fusion_data, seed)[0] for seed in range(3)])
  for fusion in ('early', 'late'):
    runs = [_fit(fusion_data, seed, model__fusion=fusion, dataset__metadata_dropout=0.25) for seed in range(3)]
    fused, without_metadata = np.mean(runs, axis=0)
    assert fused > image_only + 0.05, (fusion, fused, image_only)
    # Trained with records hidden now and then, it still classifies people whose metadata is unknown.
    assert without_metadata > image_only - 0.05, (fusion, without_metadata, image_only)


def test_bfloat16_compute_keeps_float32_weights_and_learns(data_dir):
  config = tiny_config(data_dir)
  config.update(precision='bfloat16')
  config.model.dropout = 0.0
  info, it, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  trainer = train.Trainer(config, info, total_steps=20)
  batch = trainer.to_global(next(it))
  # Every convolution and matrix product takes bfloat16 operands but the loss's class weighting:
  # batch norm's float32 statistics must not promote the layers after it back to float32.
  hlo = trainer.train_step.lower(trainer.initial_state, batch).as_text()
  operands = re.findall(r'stablehlo\.(?:convolution|dot_general).*: \((.*)\) ->', hlo)
  n, classes = len(batch['label']), info.num_classes
  assert len(operands) > 20 and [o for o in operands if 'f32' in o] == [
    f'tensor<{n}x{classes}xf32>, tensor<{classes}xf32>'
  ]
  state, first = trainer.train_step(trainer.initial_state, batch)
  for _ in range(7):
    state, last = trainer.train_step(state, batch)
  assert float(last['loss']) < 0.7 * float(first['loss'])
  assert {x.dtype for x in jax.tree.leaves(state.params)} == {jnp.dtype(jnp.float32)}
  probs = trainer.eval_step(state, batch)
  assert probs.dtype == jnp.float32 and np.allclose(np.sum(probs, 1), 1, atol=1e-3)


def test_ema_averages_the_weights_after_clipped_updates(data_dir):
  config = tiny_config(data_dir)
  config.optimizer.update(ema_decay=0.9, clip_norm=1e-3, name='sgd', warmup_steps=0, b1=0.0, learning_rate=1.0)
  info, it, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  trainer = train.Trainer(config, info, total_steps=20)
  before = jax.tree.map(np.asarray, trainer.initial_state.params)
  # The initial state itself: the step donates it, so the average must not alias the weights.
  state, _ = trainer.train_step(trainer.initial_state, trainer.to_global(next(it)))
  flat = lambda tree: np.concatenate([np.ravel(x) for x in jax.tree.leaves(tree)])  # noqa: E731
  step = flat(state.params) - flat(before)
  assert np.linalg.norm(step) == pytest.approx(1e-3, rel=1e-3)  # lr 1 x a gradient clipped to norm 1e-3.
  np.testing.assert_allclose(flat(state.ema_params), 0.9 * flat(before) + 0.1 * flat(state.params), atol=1e-7)


def test_early_stopping_keeps_and_reports_the_best_evaluation(data_dir, tmp_path):
  config = tiny_config(data_dir)
  config.update(num_epochs=4.0, eval_every_steps=1, checkpoint_every_steps=100)
  config.optimizer.plateau.update(metric='validation/log_loss', patience=1, factor=0.5)
  config.early_stopping.update(metric='validation/log_loss', patience=2)
  results = train.train_and_evaluate(config, tmp_path)
  with ocp.CheckpointManager(tmp_path / 'checkpoints') as mngr:
    last = mngr.latest_step()
    restored = mngr.restore(
      last, args=ocp.args.Composite(meta=ocp.args.JsonRestore(), state=ocp.args.StandardRestore())
    )
  meta, lr_scale = restored['meta'], float(restored['state']['lr_scale'])
  early, plateau = meta['early'], meta['plateau']
  assert meta['stopped'] and last < 24 and last == early['best_step'] + 2  # Two evaluations without a better one.
  assert results['validation']['log_loss'] == pytest.approx(early['best'])
  assert json.loads((tmp_path / 'metrics.json').read_text())['step'] == early['best_step']
  with ocp.CheckpointManager(tmp_path / 'best') as best:
    assert best.all_steps() == [early['best_step']]
  # Each evaluation without a better loss halved the learning rate: the last two at least.
  assert plateau['best_step'] == early['best_step'] and np.log2(lr_scale) == round(np.log2(lr_scale)) <= -2
  # A finished run restarted returns its result without training again.
  np.testing.assert_equal(train.train_and_evaluate(config, tmp_path), results)


_TRAIN = """
import sys
sys.path.insert(0, 'tests')
from conftest import tiny_config
from skinjax import train
config = tiny_config(sys.argv[1])
config.update(num_epochs=40.0, eval_every_steps=1000, checkpoint_every_steps=1000, log_every_steps=1)
print('RESULT', train.train_and_evaluate(config, sys.argv[2]), flush=True)
"""


def test_sigterm_checkpoints_and_a_rerun_resumes_exactly(data_dir, tmp_path):
  def start(workdir):
    args = [sys.executable, '-c', _TRAIN, str(data_dir), str(workdir)]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)

  uninterrupted = start(tmp_path / 'a')
  out, err = uninterrupted.communicate(timeout=600)
  assert uninterrupted.returncode == 0, err[-3000:]

  interrupted = start(tmp_path / 'b')
  log = tmp_path / 'b' / 'metrics.json'
  deadline = time.time() + 300
  while not list((tmp_path / 'b').glob('events.out.tfevents.*')) and time.time() < deadline:
    time.sleep(0.2)
  time.sleep(3)  # Well into training (240 steps of a few ms each, after compiling).
  interrupted.send_signal(signal.SIGTERM)
  _, err_b = interrupted.communicate(timeout=300)
  assert interrupted.returncode == 0, err_b[-3000:]
  assert 'Preempted at step' in err_b and not log.exists()
  with ocp.CheckpointManager(tmp_path / 'b' / 'checkpoints') as mngr:
    assert 0 < mngr.latest_step() < 240

  resumed = start(tmp_path / 'b')
  out_b, err_b = resumed.communicate(timeout=600)
  assert resumed.returncode == 0, err_b[-3000:]
  result = lambda out: out.split('RESULT', 1)[1]  # noqa: E731
  assert result(out_b) == result(out)


def _saved(workdir):
  with ocp.CheckpointManager(workdir / 'checkpoints') as mngr:
    state = mngr.restore(mngr.latest_step(), args=ocp.args.Composite(state=ocp.args.StandardRestore()))['state']
  return {part: _flat(state[part]) for part in ('params', 'model_state')}


def _flat(tree):
  return {'/'.join(k): np.asarray(v) for k, v in weights.flatten(tree).items()}


def test_two_stages_frozen_backbone_then_fine_tuning(data_dir, tmp_path):
  config = tiny_config(data_dir)
  config.model.hidden = (16,)
  config.update(eval_every_steps=100, checkpoint_every_steps=100)
  config.stages = ({'freeze_backbone': True, 'optimizer.learning_rate': 1e-2}, {'optimizer.learning_rate': 1e-3})
  results = train.train_and_evaluate(config, tmp_path)
  assert (tmp_path / 'metrics.json').read_text() == (tmp_path / 'stage_2' / 'metrics.json').read_text()
  assert 0 <= results['test']['auroc'] <= 1

  info, _, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  initial = train.Trainer(config_lib.with_overrides(config, {'stages': ()}), info, 6).initial_state
  initial = {'params': _flat(initial.params.to_pure_dict()), 'model_state': _flat(initial.model_state.to_pure_dict())}
  first, second = _saved(tmp_path / 'stage_1'), _saved(tmp_path / 'stage_2')
  for part in ('params', 'model_state'):  # Weights, and batch-norm statistics.
    for name, value in first[part].items():
      frozen = name.startswith('backbone/')
      assert np.array_equal(value, initial[part][name]) == frozen, name  # Only the new head learnt,
      assert not np.array_equal(second[part][name], value), name  # then everything did.

  # Weights of another network are refused, each mismatch named.
  config.stages = ()
  config.model.hidden = (8,)
  config.init_from = str(tmp_path / 'stage_1')
  with pytest.raises(
    ValueError, match=r'does not fit this network: head/kernel has shape \(16, 2\), expected \(8, 2\); hidden/'
  ):
    train.train_and_evaluate(config, tmp_path / 'other')


def test_kaiming_head_and_named_trainable_layers(data_dir):
  config = tiny_config(data_dir)
  config.model.name = 'resnet18'
  config.model.head_init = 'kaiming'
  config.freeze_backbone = True
  config.trainable = ('blocks/layers/7',)  # The last basic block trains with the head.
  info, it, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  trainer = train.Trainer(config, info, 6)
  kernel = np.asarray(trainer.initial_state.params['head']['kernel'])
  assert kernel.std() == pytest.approx(np.sqrt(2 / kernel.shape[0]), rel=0.1)  # He normal: fan in 512.
  assert not np.asarray(trainer.initial_state.params['head']['bias']).any()
  before = weights.flatten(jax.device_get(trainer.initial_state.params))
  stats_before = weights.flatten(jax.device_get(trainer.initial_state.model_state))
  state, batches = trainer.initial_state, train.DevicePrefetch(it, trainer.to_global, 1)
  for _ in range(2):  # The first step donates the initial state.
    state, _ = trainer.train_step(state, next(batches)[0])
  after, stats_after = weights.flatten(state.params), weights.flatten(state.model_state)
  for name in before:
    learnt = name[0] == 'head' or name[:3] == ('blocks', 'layers', '7')
    assert np.array_equal(before[name], after[name]) != learnt, name
  for name in stats_before:  # Batch statistics move only in the trainable block.
    assert np.array_equal(stats_before[name], stats_after[name]) != (name[:3] == ('blocks', 'layers', '7')), name
  config.trainable = ('blocks/layers/70',)
  with pytest.raises(ValueError, match="trainable: 'blocks/layers/70' names no layer of the backbone of resnet18"):
    train.Trainer(config, info, 6)
