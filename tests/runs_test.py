"""Repeated runs with confidence intervals, the one-sided t-test, and random search."""

import json

import numpy as np
import pytest
import scipy.stats
from conftest import load_config, tiny_config

from skinjax import config_lib, runs


def test_summary_is_the_mean_with_a_students_t_interval():
  values = [0.81, 0.84, 0.79, 0.86, 0.80]
  summary = runs.summarize([{'test/auroc': v, 'test/ppv': None if i == 0 else v} for i, v in enumerate(values)])
  low, high = scipy.stats.t.interval(0.95, 4, loc=np.mean(values), scale=scipy.stats.sem(values))
  s = summary['test/auroc']
  assert s['mean'] == pytest.approx(np.mean(values)) and s['n'] == 5
  assert (s['mean'] - s['ci95'], s['mean'] + s['ci95']) == pytest.approx((low, high))
  assert summary['test/ppv']['n'] == 4  # An undefined value is left out, not counted as 0.


def test_one_sided_t_test():
  better, worse = [0.90, 0.91, 0.92, 0.90, 0.93], [0.85, 0.86, 0.84, 0.85, 0.87]
  assert runs.one_sided_t_test(better, worse) < 0.001 < 0.999 < runs.one_sided_t_test(worse, better)


def test_appendix_b_ranges_are_drawn_on_their_scales():
  appendix_b = load_config('standard_cnn', 'transfer_meta').search  # Seed 001's ranges.
  draws = [runs.sample(appendix_b, np.random.default_rng([0, i])) for i in range(300)]
  assert draws[0] == runs.sample(appendix_b, np.random.default_rng([0, 0]))  # Seeded.
  batch = np.array([d['batch_size'] for d in draws])
  assert set(batch) <= {2**k for k in range(2, 10)} and len(set(batch)) >= 7
  lr = np.array([d['optimizer.learning_rate'] for d in draws])
  assert lr.min() >= 1e-3 and lr.max() <= 1e-2 and 0.3 < np.mean(lr < 10**-2.5) < 0.7  # Log-uniform.
  assert {d['model.pool_size'] for d in draws} == {3, 4} and {d['model.filters'] for d in draws} == set(range(6, 13))
  assert all(0 <= d['model.dropout'] <= 0.5 and isinstance(d['model.dropout'], float) for d in draws)
  with pytest.raises(ValueError, match="has scale 'log'"):
    runs.sample((('x', 'log', 1, 2),), np.random.default_rng(0))


def test_repeat_compare_and_search(data_dir, tmp_path, capsys):
  config = tiny_config(data_dir)
  config.update(eval_every_steps=100, checkpoint_every_steps=100)
  summary = runs.repeat(config, tmp_path / 'a', num_seeds=2)
  assert sorted(p.name for p in (tmp_path / 'a').glob('seed_*')) == ['seed_0', 'seed_1']
  saved = json.loads((tmp_path / 'a' / 'summary.json').read_text())
  assert len(saved['runs']) == 2 and saved['runs'][0] != saved['runs'][1]
  assert summary['test/auroc']['mean'] == pytest.approx(np.mean([r['test/auroc'] for r in saved['runs']]))
  assert '| test/auroc | ' in (tmp_path / 'a' / 'summary.md').read_text()
  assert runs.repeat(config, tmp_path / 'a', num_seeds=2) == summary  # Finished runs are not run again.

  smoothed = config_lib.with_overrides(config, {'loss.label_smoothing': 0.2})
  runs.repeat(smoothed, tmp_path / 'b', num_seeds=2)
  runs.main(['runs', 'compare', str(tmp_path / 'a'), str(tmp_path / 'b')])
  assert '| metric | A: a | B: b | p (A better, one-sided) |' in capsys.readouterr().out
  compared = json.loads((tmp_path / 'a' / 'compare_b.json').read_text())
  assert compared['test/auroc']['p'] == runs.one_sided_t_test(
    [r['test/auroc'] for r in saved['runs']],
    [r['test/auroc'] for r in json.loads((tmp_path / 'b' / 'summary.json').read_text())['runs']],
  )

  config.search = (('optimizer.learning_rate', 'log10', 1e-4, 1e-2), ('loss.label_smoothing', 'linear', 0.0, 0.2))
  trials = runs.search(config, tmp_path / 'search', runs.random_trials(config, 2), rank_by='validation/log_loss')
  losses = [t['metrics']['validation/log_loss'] for t in trials]
  assert losses == sorted(losses)  # A loss ranks ascending.
  params = json.loads((tmp_path / 'search' / f'trial_{trials[0]["trial"]}' / 'params.json').read_text())
  assert params == trials[0]['params']
  with pytest.raises(KeyError, match="'optimizer.learning_rat' does not exist"):
    config_lib.with_overrides(config, {'optimizer.learning_rat': 0.1})


def test_grid_is_every_combination():
  config = tiny_config('/unused')
  config.grid = (('model.name', ('mobilenet_v1', 'mobilenet_v2')), ('batch_size', (16, 32, 64)))
  trials = runs.grid_trials(config)
  assert len(trials) == 6 and trials[0] == {'model.name': 'mobilenet_v1', 'batch_size': 16}
  assert {(t['model.name'], t['batch_size']) for t in trials} == {
    (m, b) for m in ('mobilenet_v1', 'mobilenet_v2') for b in (16, 32, 64)
  }
