"""The training loop: learning, exact resume, data parallelism, errors, and the CLI end to end."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import ROOT, cli_args, tiny_config

from skinjax import input_pipeline, train


def _run(args, env=None, cwd=ROOT, timeout=600):
  return subprocess.run(
    [sys.executable, *args],
    cwd=cwd,
    capture_output=True,
    text=True,
    timeout=timeout,
    env={**os.environ, **(env or {})},
  )


def test_a_few_steps_lower_the_loss(data_dir):
  config = tiny_config(data_dir)
  config.model.dropout = 0.0
  info, it, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  trainer = train.Trainer(config, info, total_steps=20)
  batch = trainer.to_global(next(it))
  state, losses = trainer.initial_state, []
  for _ in range(8):
    state, metrics = trainer.train_step(state, batch)
    losses.append(float(metrics['loss']))
  assert losses[-1] < 0.5 * losses[0], losses
  assert int(state.step) == 8


def test_device_prefetch_checkpoints_the_position_of_the_batch_handed_out(data_dir):
  config = tiny_config(data_dir)
  _, plain, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  _, ahead, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
  prefetch = train.DevicePrefetch(ahead, lambda b: {'image': jax.device_put(b['image'])}, depth=2)
  for _ in range(3):
    expected = next(plain)
    global_batch, batch = next(prefetch)
    np.testing.assert_array_equal(global_batch['image'], expected['image'])
    np.testing.assert_array_equal(batch['image_id'], expected['image_id'])
  assert json.loads(prefetch.get_state()) == plain.get_state()  # Not the read-ahead position.
  state = prefetch.get_state()
  after = [next(prefetch)[1]['image_id'] for _ in range(2)]
  prefetch.set_state(state)
  np.testing.assert_array_equal([next(prefetch)[1]['image_id'] for _ in range(2)], after)


def _final_params(workdir):
  with ocp.CheckpointManager(workdir / 'checkpoints') as mngr:
    restored = mngr.restore(mngr.latest_step(), args=ocp.args.Composite(state=ocp.args.StandardRestore()))
  return jax.tree.leaves({k: restored['state'][k] for k in ('params', 'model_state', 'opt_state')})


def test_resume_continues_exactly(data_dir, tmp_path, monkeypatch):
  config = tiny_config(data_dir)
  uninterrupted = train.train_and_evaluate(config, tmp_path / 'a')

  # Preempted after step 4 (checkpointed there), then restarted with the same workdir.
  with monkeypatch.context() as m:
    m.setattr(ocp.CheckpointManager, 'reached_preemption', lambda self, step: step == 4)
    partial = train.train_and_evaluate(config, tmp_path / 'b')
  assert json.loads((tmp_path / 'b' / 'metrics.json').read_text())['step'] == 3
  assert partial['test'] != uninterrupted['test']
  resumed = train.train_and_evaluate(config, tmp_path / 'b')

  np.testing.assert_equal(resumed, uninterrupted)  # NaN (an undefined PPV, say) equals NaN here.
  for a, b in zip(_final_params(tmp_path / 'a'), _final_params(tmp_path / 'b'), strict=True):
    np.testing.assert_array_equal(a, b)
  metrics = json.loads((tmp_path / 'a' / 'metrics.json').read_text())
  assert metrics['step'] == 6 and set(metrics) == {'step', 'validation', 'test'}
  assert {'accuracy', 'sensitivity', 'specificity', 'ppv', 'npv', 'f1', 'auroc', 'auprc'} <= set(metrics['test'])

  # The same workdir with another network (here: another head) is refused, with the reason.
  config.dataset.builder_config.labels = 'seven_class'
  with pytest.raises(ValueError, match='holds model .cancernet_sca_b. with .* parameters, but the config asks'):
    train.train_and_evaluate(config, tmp_path / 'a')


def test_non_finite_loss_stops_the_run_naming_the_step(data_dir, tmp_path):
  config = tiny_config(data_dir)
  config.optimizer.learning_rate = float('inf')
  with pytest.raises(train.NonFiniteLossError, match=r'Training loss is nan at step 2; the batch held .*SYN_'):
    train.train_and_evaluate(config, tmp_path)


_LOSSES = """
import json, sys
sys.path.insert(0, 'tests')
from conftest import tiny_config
import jax, jax.numpy as jnp, numpy as np
from skinjax import input_pipeline, train
config = tiny_config(sys.argv[1])
config.optimizer.update(name='sgd', warmup_steps=0)
info, it, _ = input_pipeline.get_datasets(config.dataset, config.batch_size, config.seed)
trainer = train.Trainer(config, info, total_steps=6)
flat = lambda params: np.concatenate([np.ravel(x) for x in jax.tree.leaves(params)])
initial = flat(trainer.initial_state.params)
losses = []
for _ in range(3):
  state, metrics = trainer.train_step(jax.tree.map(jnp.copy, trainer.initial_state), trainer.to_global(next(it)))
  losses.append(float(metrics['loss']))
update = (flat(state.params) - initial).tolist()
print(json.dumps({'devices': jax.device_count(), 'losses': losses, 'update': update}))
"""


def test_one_and_eight_devices_give_the_same_loss(data_dir):
  """Same state, same global batch: the same loss, and the same update, on 1 device as on 8."""
  runs = []
  for devices in (1, 8):
    flags = f'--xla_force_host_platform_device_count={devices}'
    result = _run(['-c', _LOSSES, str(data_dir)], env={'XLA_FLAGS': flags, 'JAX_PLATFORMS': 'cpu'})
    assert result.returncode == 0, result.stderr[-3000:]
    runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
  assert [r['devices'] for r in runs] == [1, 8]
  # The losses agree to float32 reductions in another order: 1.3e-5 apart in relative terms,
  # with XLA's own convolutions as with the CPU formulations. Batch statistics per device (two
  # images each) would put the first loss 20% off.
  np.testing.assert_allclose(runs[0]['losses'], runs[1]['losses'], rtol=1e-4)
  # The update agrees to rounding amplified by backpropagation through a freshly initialised
  # stack of train-mode batch norms, whose gradients explode with depth (Yang et al., ICLR 2019):
  # about 1% here in norm, where averaging instead of summing the devices' gradients, or batch
  # statistics per device, would be off by a factor or in the loss.
  one, eight = np.array(runs[0]['update']), np.array(runs[1]['update'])
  assert np.linalg.norm(one - eight) < 0.05 * np.linalg.norm(one)
  assert not np.allclose(runs[0]['losses'][0], runs[0]['losses'][1])  # Different batches.


def test_main_end_to_end(data_dir, tmp_path):
  workdir = tmp_path / 'run'
  config = ROOT / 'configs' / 'scab.py'
  args = ['-m', 'skinjax.main', f'--config={config}:demo', '--workdir=run', *cli_args(data_dir)]
  result = _run(args, cwd=tmp_path)  # A relative workdir, from another directory.
  assert result.returncode == 0, result.stderr[-3000:]
  assert list(workdir.glob('events.out.tfevents.*')), 'no TensorBoard event file'
  assert (workdir / 'checkpoints' / '6').is_dir()
  metrics = json.loads((workdir / 'metrics.json').read_text())
  assert metrics['step'] == 6 and 0 <= metrics['test']['auroc'] <= 1
  assert 'Metrics:          run/metrics.json' in result.stdout
  assert 'steps/s' in result.stderr and 'ETA' in result.stderr  # Progress reports.


def test_missing_isic_data_names_what_to_download(tmp_path):
  args = ['-m', 'skinjax.main', '--config=configs/scab.py', f'--workdir={tmp_path}/run']
  args += [f'--config.dataset.data_dir={tmp_path}/tfds', f'--config.dataset.manual_dir={tmp_path}/manual']
  result = _run(args)
  assert result.returncode == 1
  assert 'cancernet_sca needs a manual download' in result.stderr and f'{tmp_path}/manual' in result.stderr
  assert 'isic image download' in result.stderr and '--config=configs/scab.py:demo' in result.stderr


def test_misspelt_config_field_is_an_error(tmp_path):
  args = ['-m', 'skinjax.main', '--config=configs/scab.py:demo', f'--workdir={tmp_path}', '--config.bach_size=8']
  result = _run(args)
  assert result.returncode != 0 and 'bach_size' in result.stderr
  result = _run(['-m', 'skinjax.main', '--config=configs/scab.py:dmeo', f'--workdir={tmp_path}'])
  assert result.returncode != 0 and "Unknown config argument 'dmeo'" in result.stderr
