r"""Repeated runs, comparisons and random search, as seed 001 (Kim & Rocheteau, 2020) reports them.

  # One config over 10 seeds: mean and 95% confidence interval of every metric.
  python -m skinjax.runs repeat --config=configs/transfer_meta.py --workdir=/tmp/tl --num_seeds=10
  # Is A better than B? One-sided Welch t-test per metric over their seeds.
  python -m skinjax.runs compare /tmp/tl /tmp/scratch
  # Random search over the ranges in `config.search`, trials ranked by a validation metric.
  python -m skinjax.runs search --config=configs/transfer_meta.py:standard_cnn --workdir=/tmp/hp --num_trials=20
  # Every combination in `config.grid` (seed 002: three networks x batch sizes 16, 32, 64).
  python -m skinjax.runs grid --config=configs/isic2017_mobile.py --workdir=/tmp/mobile

Every run has its own workdir below `--workdir` (`seed_<n>`, `trial_<n>`) and resumes where it
stopped; a finished run is not trained again. Tables are written as `summary.md` / `summary.json`
(repeat), `search.md` / `search.json` (search, grid), and printed.
"""

import itertools
import json
import math

import numpy as np
import scipy.stats
from absl import app, flags, logging
from etils import epath
from ml_collections import config_flags

from skinjax import config_lib, metrics, plots, train

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Where the runs (one workdir each) and the tables go.')
config_flags.DEFINE_config_file('config', None, 'A config file, e.g. configs/scab.py:demo.', lock_config=True)
flags.DEFINE_integer('num_seeds', 10, 'repeat: seeds config.seed, config.seed + 1, ...')
flags.DEFINE_integer('num_trials', 20, 'search: trials drawn from config.search.')
flags.DEFINE_string(
  'rank_by',
  '',
  'search, grid: the metric trials are ranked by (a loss ascending); default validation/auroc for two classes, '
  'validation/balanced_accuracy for more.',
)


def scalar_metrics(results: dict) -> dict[str, float]:
  """{'split/metric': value} for the headline metrics (not per class, not counts)."""
  return {
    f'{split}/{name}': value
    for split, values in results.items()
    for name, value in values.items()
    if '/' not in name and name != 'num_examples'
  }


def summarize(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
  """Mean, standard deviation and the 95% confidence interval of the mean (Student's t) of each
  metric over runs; NaN values (undefined metrics) are left out of their metric."""
  out = {}
  for name in runs[0]:
    values = np.array([np.nan if r[name] is None else r[name] for r in runs], np.float64)
    values = values[~np.isnan(values)]
    n = len(values)
    std = float(values.std(ddof=1)) if n > 1 else math.nan
    half = float(scipy.stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    out[name] = {'mean': float(values.mean()) if n else math.nan, 'std': std, 'ci95': half, 'n': n}
  return out


def one_sided_t_test(a: list[float], b: list[float]) -> float:
  """p-value of Welch's t-test that the mean of `a` exceeds that of `b`."""
  return float(scipy.stats.ttest_ind(a, b, equal_var=False, alternative='greater').pvalue)


def sample(ranges, rng: np.random.Generator) -> dict[str, float | int]:
  """One draw from `config.search`: (field, scale, low, high) with scale 'linear', 'log2' or
  'log10'; integer bounds give integers (with 'log2', powers of two)."""
  drawn = {}
  for field, scale, low, high in ranges:
    if scale not in ('linear', 'log2', 'log10'):
      raise ValueError(f"search range for {field!r} has scale {scale!r}; expected 'linear', 'log2' or 'log10'.")
    integer = isinstance(low, int) and isinstance(high, int)
    if scale == 'linear':
      value = rng.integers(low, high + 1) if integer else rng.uniform(low, high)
    else:
      log = np.log2 if scale == 'log2' else np.log10
      exponent = rng.uniform(log(low), log(high))
      value = (2 if scale == 'log2' else 10) ** (round(exponent) if integer else exponent)
    drawn[field] = int(value) if integer else float(value)
  return drawn


def _run(config, workdir: epath.Path) -> dict[str, float]:
  logging.info('Run %s', workdir)
  return scalar_metrics(train.train_and_evaluate(config, workdir))


def _write(workdir: epath.Path, name: str, table: str, data) -> None:
  (workdir / f'{name}.md').write_text(table)
  (workdir / f'{name}.json').write_text(json.dumps(data, indent=2, default=lambda x: None))
  print(table)


def repeat(config, workdir: epath.Path, num_seeds: int) -> dict:
  runs = [
    _run(config_lib.with_overrides(config, {'seed': config.seed + i}), workdir / f'seed_{config.seed + i}')
    for i in range(num_seeds)
  ]
  summary = summarize(runs)
  rows = [[m, f'{s["mean"]:.4f} ± {s["ci95"]:.4f}', f'{s["std"]:.4f}', s['n']] for m, s in summary.items()]
  _write(
    workdir,
    'summary',
    plots.markdown_table(['metric', 'mean ± 95% CI', 'std', 'runs'], rows),
    {'summary': summary, 'runs': runs},
  )
  return summary


def compare(a: epath.Path, b: epath.Path) -> dict:
  """For each metric: both means and the p-value that A's mean exceeds B's (a loss: that it is lower)."""
  runs = [json.loads((d / 'summary.json').read_text())['runs'] for d in (a, b)]
  out = {}
  for name in runs[0][0]:
    values = [[r[name] for r in rs if r.get(name) is not None] for rs in runs]
    sign = metrics.direction(name)
    p = one_sided_t_test([sign * v for v in values[0]], [sign * v for v in values[1]])
    out[name] = {'a': float(np.mean(values[0])), 'b': float(np.mean(values[1])), 'p': p}
  stars = lambda p: '**' if p < 0.001 else '*' if p < 0.05 else ''  # noqa: E731  seed 001's marks.
  rows = [[m, f'{v["a"]:.4f}', f'{v["b"]:.4f}', f'{v["p"]:.4g}{stars(v["p"])}'] for m, v in out.items()]
  header = ['metric', f'A: {a.name}', f'B: {b.name}', 'p (A better, one-sided)']
  _write(a, f'compare_{b.name}', plots.markdown_table(header, rows), out)
  return out


def search(config, workdir: epath.Path, trials: list[dict], rank_by: str) -> list[dict]:
  """Runs each trial's overrides in `workdir/trial_<n>` and ranks them by `rank_by`."""
  results = []
  for i, params in enumerate(trials):
    trial_dir = workdir / f'trial_{i}'
    trial_dir.mkdir(parents=True, exist_ok=True)
    (trial_dir / 'params.json').write_text(json.dumps(params, indent=2))
    results.append(
      {'trial': i, 'params': params, 'metrics': _run(config_lib.with_overrides(config, params), trial_dir)}
    )
  if not rank_by:
    rank_by = 'validation/auroc' if 'validation/auroc' in results[0]['metrics'] else 'validation/balanced_accuracy'
  if rank_by not in results[0]['metrics']:
    raise ValueError(f'rank_by {rank_by!r} is not a metric of the runs; they have {sorted(results[0]["metrics"])}.')
  sign = metrics.direction(rank_by)
  results.sort(key=lambda t: -sign * np.nan_to_num(t['metrics'][rank_by], nan=-sign * np.inf))
  names = list(results[0]['params'])
  rows = [[t['trial'], *(_cell(t['params'][n]) for n in names), f'{t["metrics"][rank_by]:.4f}'] for t in results]
  _write(workdir, 'search', plots.markdown_table(['trial', *names, rank_by], rows), results)
  return results


def random_trials(config, num_trials: int) -> list[dict]:
  """`num_trials` draws from the ranges in `config.search`, seeded by `config.seed`."""
  if not config.get('search'):
    raise ValueError('The config has no `search` ranges to draw trials from.')
  return [sample(config.search, np.random.default_rng([config.seed, i])) for i in range(num_trials)]


def grid_trials(config) -> list[dict]:
  """Every combination of the values in `config.grid`: ((field, (value, ...)), ...)."""
  if not config.get('grid'):
    raise ValueError('The config has no `grid` of values to run.')
  fields = [field for field, _ in config.grid]
  return [dict(zip(fields, values, strict=True)) for values in itertools.product(*(v for _, v in config.grid))]


def _cell(value) -> str:
  return f'{value:.4g}' if isinstance(value, float) else str(value)


def main(argv):
  if len(argv) < 2 or argv[1] not in ('repeat', 'compare', 'search', 'grid'):
    raise app.UsageError('Usage: python -m skinjax.runs repeat|search|grid --config=... --workdir=... | compare A B')
  command = argv[1]
  if command == 'compare':
    if len(argv) != 4:
      raise app.UsageError('compare takes two directories written by `repeat`.')
    compare(epath.Path(argv[2]), epath.Path(argv[3]))
    return
  if FLAGS.config is None or FLAGS.workdir is None:
    raise app.UsageError(f'{command} needs --config and --workdir.')
  workdir = epath.Path(FLAGS.workdir).absolute()
  workdir.mkdir(parents=True, exist_ok=True)
  if command == 'repeat':
    repeat(FLAGS.config, workdir, FLAGS.num_seeds)
  elif command == 'search':
    search(FLAGS.config, workdir, random_trials(FLAGS.config, FLAGS.num_trials), FLAGS.rank_by)
  else:
    search(FLAGS.config, workdir, grid_trials(FLAGS.config), FLAGS.rank_by)


if __name__ == '__main__':
  app.run(main)
