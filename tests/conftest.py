"""Shared fixtures: a tiny synthetic data set built once per session, and a tiny demo config."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'

# Subprocesses (the CLI, 8 fake devices) reuse what the others compiled.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', str(ROOT / '.pytest_cache' / 'jax'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')

# The demo config shrunk to seconds: 32x32 images, 96 training images, batch 16: 6 steps.
TINY = {
  'dataset.builder_config.image_size': 32,
  'dataset.builder_config.num_train': 96,
  'dataset.builder_config.num_validation': 24,
  'dataset.builder_config.num_test': 40,
  'dataset.image_size': 32,
  'dataset.num_threads': 0,
  'batch_size': 16,
  'num_epochs': 1.0,
  'optimizer.warmup_steps': 2,
  'log_every_steps': 2,
  'eval_every_steps': 3,
  'checkpoint_every_steps': 3,
}


def load_config(arg: str = 'demo', name: str = 'scab'):
  from skinjax import config_lib

  return config_lib.load(f'{ROOT}/configs/{name}.py:{arg}')


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory) -> pathlib.Path:
  """A TFDS data_dir holding the tiny synthetic set (built once)."""
  from skinjax import input_pipeline

  path = tmp_path_factory.mktemp('tfds')
  config = tiny_config(path)
  input_pipeline.get_builder(config.dataset)
  return path


def tiny_config(data_dir, name: str = 'scab'):
  """`configs/<name>.py:demo` with the TINY overrides, reading from `data_dir`."""
  config = load_config('demo', name)
  for key, value in {**TINY, 'dataset.data_dir': str(data_dir)}.items():
    *parents, leaf = key.split('.')
    node = config
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
  """`python -m module args...` in the repository root, its output captured."""
  return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def cli_args(data_dir) -> list[str]:
  """The same overrides as command-line flags."""
  return [f'--config.{k}={v}' for k, v in {**TINY, 'dataset.data_dir': data_dir}.items()]


@pytest.fixture(scope='session')
def trained_run(data_dir, tmp_path_factory):
  """A tiny run with early fusion of metadata that kept a best checkpoint (steps 3 and 6 saved),
  for evaluation, explanation and prediction."""
  from etils import epath

  from skinjax import train

  config = tiny_config(data_dir)
  config.model.fusion = 'early'
  config.early_stopping.metric = 'validation/auroc'
  config.early_stopping.patience = 10
  workdir = epath.Path(tmp_path_factory.mktemp('trained_run'))
  train.train_and_evaluate(config, workdir)
  return workdir
