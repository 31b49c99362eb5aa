r"""Evaluates a trained run on a split of its data set (or of another with the same classes):

  python -m skinjax.evaluate --workdir=DIR [--split=test] [--checkpoint=best|last|STEP] [--tta=dihedral]

writes `DIR/report/<split>/` (`<data set>-<split>` for another data set, `-tta_<views>` added
with test-time augmentation):
- `report.md`: every metric with a percentile-bootstrap 95% interval (accuracy, balanced accuracy,
  mean class precision, top-3 accuracy, per-class sensitivity, specificity, PPV, NPV, F1, AUROC,
  AUPRC, partial AUROC above 80% sensitivity), at three thresholds: the argmax, 0.5 (the ISIC
  scorer's rule) and an operating point chosen on the calibration split for a target
  sensitivity; the confusion matrix as counts and by row; calibration before and after
  temperature scaling fitted on the calibration split; the metrics by sex, age band and site.
- the pictures as PNG (ROC, precision-recall, confusion matrix, F1 per class, reliability),
  also written to TensorBoard under `evaluate/` in DIR;
- `report.json` with every number, and `predictions.csv` / `ground_truth.csv` in the ISIC
  challenge's format (an `image` column and one column per class, named as the challenge's
  ground truth names them, upper case), which the official `isic-challenge-scoring classification` accepts.
"""

import csv
import dataclasses
import json
import math

import jax
import ml_collections
import numpy as np
from absl import app, flags, logging
from clu import metric_writers
from etils import epath
from flax import nnx

from skinjax import config_lib, input_pipeline, metrics, plots, train

# Views averaged by test-time augmentation: flips of [batch, height, width, channels] images, and
# with transposes all eight symmetries of the square.
_FLIPS = (None, lambda x: x[:, :, ::-1], lambda x: x[:, ::-1], lambda x: x[:, ::-1, ::-1])
TTA = {
  'none': (None,),
  'flips': _FLIPS,
  'dihedral': _FLIPS + tuple(lambda x, f=f: np.swapaxes(x if f is None else f(x), 1, 2) for f in _FLIPS),
}
AGE_BANDS = ((30, '0-29'), (45, '30-44'), (60, '45-59'), (75, '60-74'), (1000, '75+'))  # (below, name)
HEADLINE = {
  'binary': (
    'accuracy',
    'auroc',
    'auprc',
    'pauroc80',
    'sensitivity',
    'specificity',
    'ppv',
    'npv',
    'f1',
    'log_loss',
    'ece',
  ),
  'multiclass': (
    'accuracy',
    'balanced_accuracy',
    'mean_class_precision',
    'top3_accuracy',
    'auroc/macro',
    'auprc/macro',
    'pauroc80/macro',
    'f1/macro',
    'log_loss',
    'ece',
  ),
}
PER_CLASS = ('sensitivity', 'specificity', 'ppv', 'npv', 'f1', 'auroc', 'auprc', 'pauroc80')
THRESHOLDED = ('sensitivity', 'specificity', 'ppv', 'npv', 'f1')


def _kind(class_names) -> str:
  """Which HEADLINE metrics apply."""
  return 'binary' if len(class_names) == 2 else 'multiclass'


def run_config(workdir: epath.Path) -> tuple[ml_collections.ConfigDict, epath.Path]:
  """The config a run was trained with and the directory of its final weights (the last stage's)."""
  path = workdir / 'config.json'
  if not path.exists():
    raise FileNotFoundError(f'{path} does not exist: {workdir} is not a skinjax run (skinjax.main writes it).')
  config = ml_collections.ConfigDict(json.loads(path.read_text()))
  if config.stages:
    return run_config(workdir / f'stage_{len(config.stages)}')
  return config, workdir


def checkpoint_dir(run_dir: epath.Path, checkpoint: str) -> tuple[epath.Path, int | None]:
  """(directory, step or None for its latest) that `--checkpoint` names."""
  best = run_dir / 'best'
  if checkpoint == 'best':
    if best.exists() and any(p.name.isdigit() for p in best.iterdir()):
      return best, None
    logging.info('%s kept no best checkpoint (no early_stopping): evaluating the last.', run_dir)
    return run_dir / 'checkpoints', None
  if checkpoint == 'last':
    return run_dir / 'checkpoints', None
  if checkpoint.isdigit():
    return run_dir / 'checkpoints', int(checkpoint)
  raise ValueError(f"--checkpoint must be 'best', 'last' or a step number; got {checkpoint!r}.")


@dataclasses.dataclass(frozen=True)
class Run:
  """A trained run, ready to predict: its config, data set info, compiled steps and weights."""

  config: ml_collections.ConfigDict
  info: input_pipeline.DatasetInfo
  trainer: train.Trainer
  state: train.TrainState
  run_dir: epath.Path
  checkpoint_dir: epath.Path
  step: int

  def model(self) -> nnx.Module:
    """The network in inference mode with the weights evaluation uses (the averaged ones, if kept)."""
    state = self.state
    params = state.params if state.ema_params is None else state.ema_params
    model = nnx.merge(self.trainer.graphdef, state.rngs, params, state.model_state)
    model.eval()
    return model


def load_run(workdir: str, checkpoint: str = 'best', dataset: dict | None = None) -> Run:
  """The run in `workdir` with the weights `checkpoint` names; `dataset` overrides fields of its
  `config.dataset` (another data set with the same classes, say)."""
  config, run_dir = run_config(epath.Path(workdir).absolute())
  overrides = {f'dataset.{k}': v for k, v in (dataset or {}).items() if v is not None}
  if 'dataset.name' in overrides:  # Another builder: its default config unless one is given.
    overrides.setdefault('dataset.builder_config', {})
  if 'dataset.builder_config' in overrides:
    overrides['dataset.builder_config'] = ml_collections.ConfigDict(overrides['dataset.builder_config'])
  config = config_lib.with_overrides(config, {**overrides, 'model.pretrained': ''})  # Weights come from the run.
  info = input_pipeline.DatasetInfo.from_json(json.loads((run_dir / 'dataset.json').read_text()))
  trainer = train.Trainer(config, info, total_steps=1)
  path, step = checkpoint_dir(run_dir, checkpoint)
  state, step = train.restore_weights(path, trainer, step)
  return Run(config, info, trainer, state, run_dir, path, step)


def all_metrics(probs, labels, class_names, thresholds: dict[str, np.ndarray]) -> dict[str, float]:
  """Argmax metrics, calibration error, and `<name>/...` metrics at each set of `thresholds`."""
  out = metrics.classification_metrics(probs, labels, class_names)
  out['ece'] = metrics.expected_calibration_error(probs, labels)
  for name, t in thresholds.items():
    out.update({f'{name}/{k}': v for k, v in metrics.threshold_metrics(probs, labels, t, class_names).items()})
  return out


def subgroups(probs, labels, rows: list[dict], features, class_names) -> dict[str, dict[str, dict[str, float]]]:
  """Headline metrics and size of each group by sex, age band and anatomical site (leaving out
  an attribute the data set never records)."""
  keep = (
    ('accuracy', 'auroc', 'sensitivity', 'specificity')
    if _kind(class_names) == 'binary'
    else ('accuracy', 'balanced_accuracy')
  )
  ages = np.array([int(r['age']) for r in rows])
  groups = {
    'sex': np.array([features['sex'].int2str(int(r['sex'])) for r in rows]),
    'age': np.array(['unknown' if a < 0 else next(band for below, band in AGE_BANDS if a < below) for a in ages]),
    'site': np.array([features['site'].int2str(int(r['site'])) for r in rows]),
  }
  out = {}
  for attribute, values in groups.items():
    if (values == 'unknown').all():
      continue
    out[attribute] = {}
    for group in sorted(set(values)):
      mask = values == group
      m = metrics.classification_metrics(probs[mask], labels[mask], class_names)
      out[attribute][group] = {'n': int(mask.sum()), **{k: m[k] for k in keep}}
  return out


def write_challenge_csv(path: epath.Path, image_ids, probs: np.ndarray, class_names) -> None:
  """`image` and one probability column per class (upper case, as the ISIC challenges name them)."""
  with path.open('w') as f:
    writer = csv.writer(f)
    writer.writerow(['image', *(c.upper() for c in class_names)])
    for image_id, p in zip(image_ids, probs, strict=True):
      writer.writerow([image_id, *(repr(float(v)) for v in p)])


def evaluate(
  workdir: str,
  split: str = 'test',
  checkpoint: str = 'best',
  tta: str = 'none',
  calibration_split: str = 'validation',
  target_sensitivity: float = 0.95,
  num_bootstrap: int = 1000,
  dataset: dict | None = None,
) -> dict:
  """Evaluates the run in `workdir` and writes its report (see the module docstring); returns
  the report's numbers. `dataset` overrides fields of the run's `config.dataset`."""
  run = load_run(workdir, checkpoint, dataset)
  config, info, trainer, state, path, step = run.config, run.info, run.trainer, run.state, run.checkpoint_dir, run.step
  calibrate = calibration_split in input_pipeline.get_builder(config.dataset).info.splits and calibration_split != split
  if not calibrate:
    logging.warning(
      'No calibration split %r apart from %r: no operating point, no temperature.', calibration_split, split
    )
  data_info, sources = input_pipeline.get_sources(config.dataset, (split, calibration_split) if calibrate else (split,))
  if data_info.class_names != info.class_names:
    raise ValueError(
      f'{config.dataset.name} has classes {data_info.class_names}; the run was trained on {info.class_names}.'
    )
  logging.info(
    'Evaluating %s/%d on %s (%d images, test-time augmentation %s).', path, step, split, len(sources[split]), tta
  )
  probs, labels = trainer.predict(state, sources[split], config, data_info, TTA[tta])
  names = info.class_names
  kind = _kind(names)

  thresholds = {'at_0.5': np.full(len(names), 0.5)}
  if calibrate:
    cal_probs, cal_labels = trainer.predict(state, sources[calibration_split], config, data_info, TTA[tta])
    thresholds['at_operating_point'] = metrics.thresholds_for_sensitivity(cal_probs, cal_labels, target_sensitivity)
  values = all_metrics(probs, labels, names, thresholds)
  intervals = metrics.bootstrap(
    lambda i: all_metrics(probs[i], labels[i], names, thresholds), len(labels), num_bootstrap, seed=config.seed
  )
  calibration = {'ece': values['ece']}
  reliability = {'as trained': metrics.calibration_bins(probs, labels)}
  if calibrate:
    temperature = metrics.fit_temperature(cal_probs, cal_labels)
    scaled = metrics.with_temperature(probs, temperature)
    calibration.update(
      temperature=temperature,
      ece_scaled=metrics.expected_calibration_error(scaled, labels),
      log_loss=values['log_loss'],
      log_loss_scaled=metrics.log_loss(scaled, labels),
    )
    reliability[f'temperature {temperature:.2f}'] = metrics.calibration_bins(scaled, labels)
  operating_point = None
  if calibrate and kind == 'binary':
    operating_point = values['at_operating_point/sensitivity'], values['at_operating_point/specificity']
  rows = list(input_pipeline.records(config.dataset, split))
  counts = metrics.confusion_matrix(probs, labels)
  report = {
    'run': str(run.run_dir),
    'checkpoint': f'{path}/{step}',
    'model': config.model.name,
    'dataset': config.dataset.name,
    'split': split,
    'tta': tta,
    'num_bootstrap': num_bootstrap,
    'class_names': list(names),
    'metrics': {k: {'value': v, 'ci95': list(intervals[k])} for k, v in values.items()},
    'confusion_matrix': counts.tolist(),
    'thresholds': {k: dict(zip(names, map(float, t), strict=True)) for k, t in thresholds.items()},
    'calibration_split': calibration_split if calibrate else None,
    'target_sensitivity': target_sensitivity,
    'calibration': calibration,
    'subgroups': subgroups(probs, labels, rows, data_info.features, names),
  }

  # Evaluations of other data or with test-time augmentation go beside the plain one.
  other_data = any(v is not None for v in (dataset or {}).values())
  name = (f'{config.dataset.name}-' if other_data else '').replace('/', '-') + split
  name += f'-tta_{tta}' if tta != 'none' else ''
  out = run.run_dir / 'report' / name
  report['report_dir'] = str(out)
  out.mkdir(parents=True, exist_ok=True)
  image_ids = [r['image_id'].decode() for r in rows]
  write_challenge_csv(out / 'predictions.csv', image_ids, probs, names)
  write_challenge_csv(out / 'ground_truth.csv', image_ids, np.eye(len(names))[labels], names)
  figures = {
    'roc': plots.roc(probs, labels, names, operating_point),
    'precision_recall': plots.precision_recall(probs, labels, names),
    'confusion_matrix': plots.confusion(counts, names),
    'f1': plots.f1_bars({c: values[f'f1/{c}'] for c in names} if kind == 'multiclass' else {names[1]: values['f1']}),
    'reliability': plots.reliability(reliability),
  }
  pixels = {name: plots.save(fig, out / f'{name}.png') for name, fig in figures.items()}
  (out / 'report.json').write_text(json.dumps(train.jsonable(report), indent=2))
  (out / 'report.md').write_text(markdown(report, list(figures)))
  writer = metric_writers.create_default_writer(run.run_dir, just_logging=jax.process_index() > 0)
  writer.write_images(step, {f'evaluate/{name}/{k}': v[None] for k, v in pixels.items()})
  writer.write_scalars(step, {f'evaluate/{name}/{k}': values[k] for k in HEADLINE[kind]})
  writer.close()
  if not other_data and tta == 'none':
    (run.run_dir / 'model_card.md').write_text(model_card(run, report))
  logging.info('Report: %s', out / 'report.md')
  return report


def model_card(run: Run, report: dict | None) -> str:
  """A model card (Mitchell et al. 2019) for the run: data, metrics with intervals from `report`
  (an evaluation of its own data), intended use, limitations, subgroups."""
  config, info = run.config, run.info
  fusion = 'none' if config.model.fusion == 'none' else f'{config.model.fusion} fusion of age, sex and site'
  counts = ', '.join(f'{c} {n}' for c, n in zip(info.class_names, info.class_counts, strict=True))
  lines = [
    f'# Model card: {config.model.name} on {config.dataset.name}',
    '',
    '## Model',
    '',
    f'- Network: `{config.model.name}`, {run.trainer.num_params:,} parameters; metadata: {fusion}.',
    f'- Input: RGB images in [0, 255] at {config.dataset.image_size}x{config.dataset.image_size} '
    f'(`{config.dataset.resize}` resizing); output: probabilities of {", ".join(info.class_names)}.',
    f'- Weights: `{run.checkpoint_dir}/{run.step}`; training configuration: `config.json` beside this card.',
    '',
    '## Data',
    '',
    f'- Trained on `{config.dataset.name}` ({config.dataset.train_split} split; classes: {counts}).',
    '',
    '## Evaluation',
    '',
  ]
  if report is None:
    lines += ['Not evaluated yet: `python -m skinjax.evaluate --workdir=DIR` adds the metrics here.', '']
  else:
    kind = _kind(report['class_names'])
    m = report['metrics']
    lines += [
      f'On the {report["split"]} split ({int(m["num_examples"]["value"])} images), 95% bootstrap intervals; '
      'details, thresholds, calibration and pictures in `report/`.',
      '',
      plots.markdown_table(['metric', 'value (95% CI)'], [[k, _cell(m[k])] for k in HEADLINE[kind]]),
    ]
    for attribute, groups in report['subgroups'].items():
      lines += [f'By {attribute}:', '', _subgroup_table(attribute, groups)]
  lines += [
    '## Intended use',
    '',
    '- Research on automated classification of dermoscopic images, benchmarking, teaching.',
    '- **Not a medical device. Not for diagnosis, screening or any decision about a patient**; it does not',
    '  replace examination by a clinician.',
    '',
    '## Limitations',
    '',
    f'- It knows only the classes above and only dermoscopic images like those of `{config.dataset.name}`;',
    '  clinical photographs, other devices and other diagnoses are outside what it was trained on.',
    '- Public dermoscopy archives (ISIC, HAM10000) come mostly from fair-skinned patients in Europe,',
    '  Australia and the Americas; performance on darker skin types is unknown. Subgroup results above',
    '  cover only the metadata the data set records, and small groups have wide intervals.',
    '- Probabilities are not calibrated risks: see the reliability diagram in the report.',
    '- Trained on synthetic lesions, it says nothing about real ones.'
    if config.dataset.name == 'synthetic_lesions'
    else '- A test split from the training source overstates performance on other clinics.',
    '',
  ]
  return '\n'.join(lines)


def _number(value: float) -> str:
  return '-' if math.isnan(value) else f'{value:.3f}'


def _cell(metric: dict) -> str:
  value, (lo, hi) = metric['value'], metric['ci95']
  return '-' if math.isnan(value) else f'{value:.3f} ({_number(lo)}-{_number(hi)})'


def _subgroup_table(attribute: str, groups: dict) -> str:
  header = list(next(iter(groups.values())))
  rows = [[g, *(v if k == 'n' else _number(v) for k, v in values.items())] for g, values in groups.items()]
  return plots.markdown_table([attribute, *header], rows)


def markdown(report: dict, pictures: list[str]) -> str:
  """`report` as a page: tables of the metrics with their intervals, then the pictures."""
  names, m = report['class_names'], report['metrics']
  kind = _kind(names)
  n = int(m['num_examples']['value'])
  lines = [
    f'# {report["model"]} on {report["dataset"]} {report["split"]}',
    '',
    f'Checkpoint `{report["checkpoint"]}`; {n} images; test-time augmentation: {report["tta"]}. '
    f'Intervals: 95% percentile bootstrap over {report["num_bootstrap"]} resamples. Argmax predictions '
    'unless a threshold is named.',
    '',
    '## Metrics',
    '',
    plots.markdown_table(['metric', 'value (95% CI)'], [[k, _cell(m[k])] for k in HEADLINE[kind]]),
  ]
  if kind == 'multiclass':
    rows = [[c, *(_cell(m[f'{k}/{c}']) for k in PER_CLASS)] for c in names]
    lines += ['## Per class (one against the rest)', '', plots.markdown_table(['class', *PER_CLASS], rows)]
  lines += ['## Thresholds', '']
  for name, thresholds in report['thresholds'].items():
    if kind == 'binary':
      rows = [[f'{thresholds[names[1]]:.4f}', *(_cell(m[f'{name}/{k}']) for k in THRESHOLDED)]]
      lines += [f'{names[1]} predicted where its probability > the threshold ({name}):', '']
      lines.append(plots.markdown_table(['threshold', *THRESHOLDED], rows))
    else:
      rows = [[c, f'{thresholds[c]:.4f}', *(_cell(m[f'{name}/{k}/{c}']) for k in THRESHOLDED)] for c in names]
      lines += [f'Each class predicted where its probability > its threshold ({name}):', '']
      lines.append(plots.markdown_table(['class', 'threshold', *THRESHOLDED], rows))
  if report['calibration_split']:
    lines += [
      f'The operating point is the highest threshold with sensitivity >= {report["target_sensitivity"]:.0%} '
      f'on {report["calibration_split"]}.',
      '',
    ]
  counts = np.array(report['confusion_matrix'])
  by_row = counts / np.maximum(counts.sum(1, keepdims=True), 1)
  lines += ['## Confusion matrix (rows: true class, columns: predicted)', '']
  lines.append(plots.markdown_table(['', *names], [[c, *row] for c, row in zip(names, counts.tolist(), strict=True)]))
  lines.append(
    plots.markdown_table(['', *names], [[c, *(f'{v:.3f}' for v in row)] for c, row in zip(names, by_row, strict=True)])
  )
  c = report['calibration']
  lines += ['## Calibration', '', f'Expected calibration error (15 bins): {c["ece"]:.4f}.']
  if 'temperature' in c:
    lines[-1] += (
      f' Temperature {c["temperature"]:.3f} fitted on {report["calibration_split"]}: ECE {c["ece_scaled"]:.4f}, '
      f'log loss {c["log_loss"]:.4f} -> {c["log_loss_scaled"]:.4f}.'
    )
  lines.append('')
  for attribute, groups in report['subgroups'].items():
    lines += [f'## By {attribute}', '', _subgroup_table(attribute, groups)]
  lines += ['## Pictures', ''] + [f'![{p}]({p}.png)' for p in pictures]
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  f = flags.FLAGS
  report = evaluate(
    f.workdir,
    split=f.split,
    checkpoint=f.checkpoint,
    tta=f.tta,
    calibration_split=f.calibration_split,
    target_sensitivity=f.target_sensitivity,
    num_bootstrap=f.bootstrap,
    dataset={'name': f.dataset, 'data_dir': f.data_dir, 'manual_dir': f.manual_dir},
  )
  kind = _kind(report['class_names'])
  for k in HEADLINE[kind]:
    print(f'{k:>22}: {_cell(report["metrics"][k])}')
  print(f'\nReport: {report["report_dir"]}/report.md')


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The run to evaluate (its config.json and checkpoints).', required=True)
  flags.DEFINE_string('split', 'test', 'The split to evaluate.')
  flags.DEFINE_string(
    'checkpoint', 'best', "'best' (early stopping's best; the last if none was kept), 'last' or a step."
  )
  flags.DEFINE_string('dataset', None, "Another data set with the run's classes, e.g. 'isic2018_task3'.")
  flags.DEFINE_string('data_dir', None, "Its TFDS data_dir, if not the run's.")
  flags.DEFINE_string('manual_dir', None, 'Its manual download directory, if it must be built.')
  flags.DEFINE_enum(
    'tta', 'none', ['none', 'flips', 'dihedral'], 'Test-time augmentation: probabilities averaged over 1, 4 or 8 views.'
  )
  flags.DEFINE_string('calibration_split', 'validation', 'Where the operating point and the temperature are chosen.')
  flags.DEFINE_float('target_sensitivity', 0.95, 'The sensitivity the operating point is chosen for.')
  flags.DEFINE_integer('bootstrap', 1000, 'Bootstrap resamples for the 95% intervals.')
  app.run(main)
