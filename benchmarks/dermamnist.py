"""DermaMNIST (MedMNIST v2, 28x28 HAM10000, seven classes): test ACC and AUC over seeds, beside
the published 28x28 results.

  python benchmarks/dermamnist.py --recipe=lite0_80 --seeds=3 [--tta=dihedral]
      [--workdir=workdir/dermamnist] [--manual_dir=../shared/data/dermamnist] [--set=num_epochs=5 ...]

Each seed trains one run of the recipe (a set of config overrides, below) with `skinjax.train`,
keeping the state with the best validation accuracy, and reports its test accuracy and macro
one-vs-rest AUROC (MedMNIST's ACC and AUC) and its training minutes; then the mean and the 95%
confidence interval (Student's t) over seeds. Runs resume and are not trained again once done.
With `--tta`, the kept state is scored again by `skinjax.evaluate`, its test probabilities
averaged over flipped (and transposed) views; the training minutes are unchanged.
"""

import argparse
import pathlib

import training_runs
from absl import logging

from skinjax import evaluate, runs

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLISHED = [  # (method, test ACC, test AUC) at 28x28.
  ('MedMNIST v2: ResNet-18 (28)', 0.735, 0.917),
  ('MedMNIST v2: Google AutoML Vision (best ACC)', 0.768, 0.914),
  ('MedMNIST+: VGG16, ImageNet, 28x28 (best)', 0.766, 0.927),
]
COMMON = {
  'dataset.name': 'dermamnist',
  'dataset.eval_splits': ('validation', 'test'),
  'dataset.num_threads': 2,
  'optimizer.name': 'adamw',
  'optimizer.weight_decay': 1e-4,
  'optimizer.schedule': 'cosine',
  'optimizer.warmup_steps': 100,
  'early_stopping.metric': 'validation/accuracy',
  'early_stopping.patience': 100,
  'log_every_steps': 50,
}
AT_28 = {'dataset.image_size': 28, 'batch_size': 128, 'num_epochs': 30.0}
# EfficientNet-Lite0 from ImageNet on the 28x28 images enlarged, with flips and rotations.
LITE0 = {
  'model.name': 'efficientnet_lite0',
  'model.pretrained': 'imagenet',
  'model.dropout': 0.2,
  'batch_size': 64,
  'optimizer.learning_rate': 1e-3,
  'dataset.augment.hflip.p': 0.5,
  'dataset.augment.vflip.p': 0.5,
  'dataset.augment.rot90.p': 0.75,
}
RECIPES = {
  # MedMNIST's baseline network and the Cancer-Net SCa family at the data's own size, from scratch.
  **{
    f'{name}_28': {'model.name': model, **AT_28}
    for name, model in (
      ('resnet18', 'resnet18'),
      ('sca_a', 'cancernet_sca_a'),
      ('sca_b', 'cancernet_sca_b'),
      ('sca_c', 'cancernet_sca_c'),
    )
  },
  'lite0_64': {**LITE0, 'dataset.image_size': 64, 'num_epochs': 8.0},
  # At 80x80, 7 epochs: 13.7 to 14.5 minutes a run at first, 9.4 to 10.1 since commit 4088db2's
  # faster convolution gradients, 7.6 since 1321a26 kept freed memory (8 epochs were no better;
  # RESULTS.md).
  'lite0_80': {**LITE0, 'dataset.image_size': 80, 'num_epochs': 7.0},
}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--recipe', default='lite0_80', choices=sorted(RECIPES))
  parser.add_argument('--seeds', type=int, default=3)
  parser.add_argument('--tta', default='none', choices=list(evaluate.TTA), help='Test-time augmentation.')
  parser.add_argument('--workdir', default='workdir/dermamnist')
  parser.add_argument('--manual_dir', default=str(ROOT.parent / 'shared' / 'data' / 'dermamnist'))
  parser.add_argument('--set', action='append', default=[], help='A config override, e.g. num_epochs=2.')
  args = parser.parse_args()
  logging.set_verbosity(logging.INFO)  # Training's progress: steps/s and time left.
  fields = {
    **COMMON,
    'dataset.manual_dir': args.manual_dir,
    **RECIPES[args.recipe],
    **training_runs.overrides(args.set),
  }
  name = args.recipe + (f' +{args.tta} TTA' if args.tta != 'none' else '')
  results = []
  for seed in range(args.seeds):
    workdir = pathlib.Path(args.workdir).absolute() / args.recipe / f'seed_{seed}'
    config = training_runs.recipe_config(fields, seed)
    r = training_runs.measured(
      workdir, config, lambda metrics: {'acc': metrics['test']['accuracy'], 'auc': metrics['test']['auroc/macro']}
    )
    if args.tta != 'none':
      report = evaluate.evaluate(str(workdir), split='test', checkpoint='best', tta=args.tta)
      r |= {'acc': report['metrics']['accuracy']['value'], 'auc': report['metrics']['auroc/macro']['value']}
    results.append(r)
    print(f'{name} seed {seed}: test ACC {r["acc"]:.4f}  AUC {r["auc"]:.4f}  ({r["minutes"]:.1f} min)', flush=True)
  summary = runs.summarize(results)
  print(f'\nDermaMNIST test, {name}, {args.seeds} seeds (mean, 95% CI):')
  for method, acc, auc in PUBLISHED:
    print(f'  {method:48s} ACC {acc:.3f}            AUC {auc:.3f}')
  value = {k: f'{v["mean"]:.3f}' + (f' +- {v["ci95"]:.3f}' if v['n'] > 1 else '') for k, v in summary.items()}
  print(f'  {"skinjax " + name:48s} ACC {value["acc"]:14s} AUC {value["auc"]:14s} ({value["minutes"]} min per run)')


if __name__ == '__main__':
  main()
