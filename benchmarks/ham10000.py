"""HAM10000's seven diagnoses: image-only vs metadata fusion, from scratch vs ImageNet weights.

  python benchmarks/ham10000.py [--recipes=scratch,scratch_fusion,imagenet,imagenet_fusion]
      [--seeds=1] [--workdir=workdir/ham10000] [--bootstrap=1000]
      [--manual_dir=../shared/data/isic2018_task3_subset] [--data_dir=TFDS_DIR] [--set=num_epochs=2 ...]

EfficientNet-Lite0 at 64x64 on the ISIC 2018 Task 3 training images in the manual directory,
15% of them held out for validation, stratified by diagnosis and grouped by lesion (no lesion on
both sides). Every recipe trains the same steps with the same augmentation and an inverse-
frequency class-weighted loss; they differ only in the starting weights (random or ImageNet)
and in early fusion of age, sex and site. The last state, not one chosen on the held-out images,
is evaluated there by `skinjax.evaluate`: balanced multiclass accuracy (the challenge's metric)
and macro one-vs-rest AUROC, each with a percentile-bootstrap 95% interval over the held-out
images, and, with several seeds, the mean and the 95% interval (Student's t) over seeds, and the
same of each pair's per-seed differences (fusion against image-only, ImageNet against scratch).

Each run is a skinjax run directory, `WORKDIR/RECIPE/seed_N`, with its report; whoever has the
official ISIC 2018 Task 3 test images can evaluate it there:

  python -m skinjax.evaluate --workdir=workdir/ham10000/imagenet_fusion/seed_0 --split=test \\
      --checkpoint=last --dataset=isic2018_task3/official --manual_dir=~/isic2018
"""

import argparse
import pathlib

import training_runs
from absl import logging

from skinjax import evaluate, runs

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMON = {
  'dataset.name': 'isic2018_task3',
  # The lesion-grouped validation part of `isic2018_task3/lesion_split`, stored at 128 px.
  'dataset.builder_config': {'validation_fraction': 0.15, 'image_size': 128},
  'dataset.eval_splits': ('validation',),
  'dataset.image_size': 64,
  'dataset.num_threads': 2,
  'dataset.augment.hflip.p': 0.5,
  'dataset.augment.vflip.p': 0.5,
  'dataset.augment.rot90.p': 0.75,
  'dataset.augment.crop.p': 0.5,
  'model.name': 'efficientnet_lite0',
  'model.dropout': 0.2,
  'loss.class_weights': 'inverse',
  'optimizer.name': 'adamw',
  'optimizer.learning_rate': 1e-3,
  'optimizer.weight_decay': 1e-4,
  'optimizer.schedule': 'cosine',
  'optimizer.warmup_steps': 100,
  'batch_size': 64,
  'num_epochs': 10.0,
  'log_every_steps': 20,
}
RECIPES = {
  'scratch': {},
  'scratch_fusion': {'model.fusion': 'early'},
  'imagenet': {'model.pretrained': 'imagenet'},
  'imagenet_fusion': {'model.pretrained': 'imagenet', 'model.fusion': 'early'},
}
HEADLINE = ('balanced_accuracy', 'auroc/macro')
# (recipe, the recipe it differs from in one thing), compared seed by seed.
PAIRS = (
  ('scratch_fusion', 'scratch'),
  ('imagenet_fusion', 'imagenet'),
  ('imagenet', 'scratch'),
  ('imagenet_fusion', 'scratch_fusion'),
)


def measure(recipe: str, seed: int, args) -> dict:
  """Trains (or resumes) one run and evaluates its last state on the held-out images."""
  workdir = pathlib.Path(args.workdir).absolute() / recipe / f'seed_{seed}'
  fields = {**COMMON, 'dataset.manual_dir': args.manual_dir, 'dataset.data_dir': args.data_dir, **RECIPES[recipe]}
  config = training_runs.recipe_config({**fields, **training_runs.overrides(args.set)}, seed)

  def score(unused_metrics: dict) -> dict:
    report = evaluate.evaluate(str(workdir), split='validation', checkpoint='last', num_bootstrap=args.bootstrap)
    return {k: report['metrics'][k] for k in HEADLINE}

  return training_runs.measured(workdir, config, score)


def _cell(metric: dict) -> str:
  low, high = metric['ci95']
  return f'{metric["value"]:.3f} ({low:.3f}-{high:.3f})'


def _mean(results: list[dict], sign: str = '') -> str:
  """'mean ± ci | mean ± ci' of HEADLINE over `results` (Student's t 95% intervals)."""
  summary = runs.summarize(results)
  return ' | '.join(f'{summary[k]["mean"]:{sign}.3f} ± {summary[k]["ci95"]:.3f}' for k in HEADLINE)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--recipes', default=','.join(RECIPES), help=f'Some of {", ".join(RECIPES)}.')
  parser.add_argument('--seeds', type=int, default=1)
  parser.add_argument('--workdir', default='workdir/ham10000')
  parser.add_argument('--manual_dir', default=str(ROOT.parent / 'shared' / 'data' / 'isic2018_task3_subset'))
  parser.add_argument('--data_dir', default=None, help="Where TFDS keeps the built data (default: TFDS's).")
  parser.add_argument('--bootstrap', type=int, default=1000, help='Resamples for the 95% intervals.')
  parser.add_argument('--set', action='append', default=[], help='A config override, e.g. num_epochs=2.')
  args = parser.parse_args()
  logging.set_verbosity(logging.INFO)  # Training's progress: steps/s and time left.
  recipes = args.recipes.split(',')
  if unknown := sorted(set(recipes) - set(RECIPES)):
    parser.error(f'unknown recipes {unknown}; expected some of {list(RECIPES)}.')

  rows, values = [], {}
  for recipe in recipes:
    results = [measure(recipe, seed, args) for seed in range(args.seeds)]
    values[recipe] = [{k: r[k]['value'] for k in HEADLINE} for r in results]
    for seed, r in enumerate(results):
      rows.append(
        f'| {recipe} | {seed} | {_cell(r["balanced_accuracy"])} | {_cell(r["auroc/macro"])} | {r["minutes"]:.1f} |'
      )
    if args.seeds > 1:
      rows.append(f'| {recipe} | mean ± 95% CI | {_mean(values[recipe])} | |')
  print('\nHAM10000, seven classes, lesion-grouped validation (bootstrap 95% intervals):')
  print('| recipe | seed | balanced accuracy | macro AUROC | training min |\n|---|---|---|---|---:|')
  print('\n'.join(rows))
  pairs = [(a, b) for a, b in PAIRS if a in values and b in values]
  if args.seeds > 1 and pairs:
    print('\nPaired differences over seeds (mean ± 95% CI):')
    print('| recipes | balanced accuracy | macro AUROC |\n|---|---|---|')
    for a, b in pairs:
      differences = [{k: x[k] - y[k] for k in HEADLINE} for x, y in zip(values[a], values[b], strict=True)]
      print(f'| {a} - {b} | {_mean(differences, sign="+")} |')


if __name__ == '__main__':
  main()
