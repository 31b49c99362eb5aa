"""What the training benchmarks (dermamnist.py, ham10000.py) share: a recipe's config, evaluated
and checkpointed once per epoch, and runs measured once and read back after."""

import json
import pathlib
import time
from collections.abc import Callable

import ml_collections

from skinjax import config_lib, input_pipeline, train


def overrides(settings: list[str]) -> dict[str, str]:
  """`--set` flags, 'field=value', as config overrides."""
  pairs = [s.split('=', 1) for s in settings]
  if bad := [s for s, pair in zip(settings, pairs, strict=True) if len(pair) != 2]:
    raise ValueError(f'--set takes field=value, e.g. num_epochs=2; got {bad}.')
  return dict(pairs)


def recipe_config(fields: dict, seed: int) -> ml_collections.ConfigDict:
  """The base config with `fields` (dotted names) and `seed` set, evaluating every epoch."""
  config = config_lib.with_overrides(config_lib.base_config(), {**fields, 'seed': seed})
  info, _ = input_pipeline.get_sources(config.dataset, ())
  config.eval_every_steps = config.checkpoint_every_steps = max(1, info.num_train // config.batch_size)
  return config


def measured(workdir: pathlib.Path, config: ml_collections.ConfigDict, score: Callable[[dict], dict]) -> dict:
  """Trains `config` in `workdir` (resuming) and keeps `score(train's metrics)` with the training
  minutes in `workdir/benchmark.json`, which later calls read instead of training again."""
  done = workdir / 'benchmark.json'
  if not done.exists():
    start = time.time()
    metrics = train.train_and_evaluate(config, workdir)
    minutes = (time.time() - start) / 60
    done.write_text(json.dumps(score(metrics) | {'minutes': minutes}))
  return json.loads(done.read_text())
