"""skinjax.evaluate: equality with the official ISIC scorer, and the report of a trained run."""

import csv
import json
import shutil

import numpy as np
import pytest
from conftest import SHARED, run_module, tiny_config
from etils import epath
from isic_challenge_scoring.classification import ClassificationMetric, ClassificationScore
from PIL import Image

from skinjax import evaluate, metrics

ISIC_CSV = SHARED / 'data' / 'isic_csv'
# The scorer's per-category name -> ours at threshold 0.5 (its rule) or threshold-free.
SCORER_NAMES = {
  'accuracy': 'at_0.5/accuracy',
  'sensitivity': 'at_0.5/sensitivity',
  'specificity': 'at_0.5/specificity',
  'dice': 'at_0.5/f1',
  'ppv': 'at_0.5/ppv',
  'npv': 'at_0.5/npv',
  'auc': 'auroc',
  'auc_sens_80': 'pauroc80',
  'ap': 'auprc',
}


def _truth(name: str) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
  """(image ids, labels, class names) of a real ISIC ground-truth file."""
  with (ISIC_CSV / name).open() as f:
    rows = list(csv.DictReader(f))
  if 'image' in rows[0]:  # ISIC 2018 Task 3: one-hot rows over seven diagnoses.
    names = tuple(k for k in rows[0] if k != 'image')
    return [r['image'] for r in rows], np.array([[float(r[c]) for c in names] for r in rows]).argmax(1), names
  # ISIC 2017 Part 3: melanoma and seborrheic keratosis flags; neither is a nevus.
  labels = [0 if float(r['melanoma']) else 2 if float(r['seborrheic_keratosis']) else 1 for r in rows]
  return [r['image_id'] for r in rows], np.array(labels), ('melanoma', 'nevus', 'seborrheic_keratosis')


def _score(truth: epath.Path, predictions: epath.Path) -> ClassificationScore:
  return ClassificationScore.from_file(truth, predictions, ClassificationMetric.BALANCED_ACCURACY)


def _assert_equal_to_scorer(score: ClassificationScore, ours: dict, names, positive_only: bool) -> None:
  for k, name in enumerate(names):
    if positive_only and k != 1:
      continue
    for theirs, mine in SCORER_NAMES.items():
      value = ours[mine if positive_only else f'{mine}/{name}']
      # Where a rate is undefined (no positive predictions, say) the scorer counts 1.0; we say NaN.
      expected = score.per_category.loc[name.upper(), theirs]
      assert (np.isnan(value) and expected == 1.0) or value == pytest.approx(expected, abs=1e-6), (name, theirs)


@pytest.mark.skipif(not ISIC_CSV.is_dir(), reason='needs ../shared/data/isic_csv')
@pytest.mark.parametrize(
  'truth_file', ['ISIC-2017_Validation_Part3_GroundTruth.csv', 'ISIC2018_Task3_Validation_GroundTruth.csv']
)
def test_metrics_equal_the_official_isic_scorer(truth_file, tmp_path):
  image_ids, labels, names = _truth(truth_file)
  probs = np.random.default_rng(0).dirichlet(np.full(len(names), 0.5), len(labels))
  evaluate.write_challenge_csv(tmp_path / 'truth.csv', image_ids, np.eye(len(names))[labels], names)
  evaluate.write_challenge_csv(tmp_path / 'predictions.csv', image_ids, probs, names)
  if truth_file.startswith('ISIC2018'):  # The scorer reads the real file as it is.
    shutil.copy(ISIC_CSV / truth_file, tmp_path / 'truth.csv')
  score = _score(tmp_path / 'truth.csv', tmp_path / 'predictions.csv')
  ours = evaluate.all_metrics(probs, labels, names, {'at_0.5': np.full(len(names), 0.5)})
  _assert_equal_to_scorer(score, ours, names, positive_only=False)
  assert ours['balanced_accuracy'] == pytest.approx(score.aggregate['balanced_accuracy'], abs=1e-6)
  for theirs, mine in SCORER_NAMES.items():
    assert np.nanmean([ours[f'{mine}/{c}'] for c in names]) == pytest.approx(score.macro_average[theirs], abs=1e-6)


def test_each_view_of_test_time_augmentation_is_a_distinct_symmetry():
  image = np.arange(2 * 4 * 4 * 1).reshape(2, 4, 4, 1)
  views = [image if t is None else t(image) for t in evaluate.TTA['dihedral']]
  assert len({v.tobytes() for v in views}) == 8
  assert all(sorted(v[0].ravel()) == sorted(image[0].ravel()) for v in views)
  assert evaluate.TTA['flips'] == evaluate.TTA['dihedral'][:4]


@pytest.fixture(scope='module')
def run(trained_run) -> epath.Path:
  return trained_run


@pytest.fixture(scope='module')
def report(run) -> dict:
  return evaluate.evaluate(run, num_bootstrap=100)


def test_report_holds_metrics_with_intervals_and_pictures(run, report):
  out = run / 'report' / 'test'
  m = report['metrics']
  assert m['num_examples']['value'] == 40
  for name in evaluate.HEADLINE['binary']:
    lo, hi = m[name]['ci95']
    assert np.isnan(m[name]['value']) or lo <= m[name]['value'] <= hi, name  # PPV: no positive predictions.
  assert report['checkpoint'].startswith(str(run / 'best'))
  assert report['calibration']['temperature'] > 0
  assert 0 < report['thresholds']['at_operating_point']['malignant'] < 1
  assert set(report['subgroups']) == {'sex', 'age', 'site'}
  assert sum(g['n'] for g in report['subgroups']['sex'].values()) == 40
  assert json.loads((out / 'report.json').read_text())['split'] == 'test'
  page = (out / 'report.md').read_text()
  for picture in ('roc', 'precision_recall', 'confusion_matrix', 'f1', 'reliability'):
    assert f'![{picture}]({picture}.png)' in page
    assert Image.open(out / f'{picture}.png').size[0] >= 300
  assert '| auroc |' in page and '## By site' in page


def test_written_predictions_score_the_same_with_the_official_scorer(run, report):
  out = run / 'report' / 'test'
  score = _score(out / 'ground_truth.csv', out / 'predictions.csv')
  ours = {k: v['value'] for k, v in report['metrics'].items()}
  _assert_equal_to_scorer(score, ours, report['class_names'], positive_only=True)


def test_pictures_and_metrics_reach_tensorboard(run, report):
  import tensorflow as tf

  tags = set()
  for path in run.glob('events.out.tfevents.*'):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      tags.update(v.tag for v in event.summary.value)
  assert {'evaluate/test/roc', 'evaluate/test/confusion_matrix', 'evaluate/test/auroc'} <= tags


def test_checkpoints_by_name_and_step(run):
  assert evaluate.checkpoint_dir(run, 'last') == (run / 'checkpoints', None)
  assert evaluate.checkpoint_dir(run, '3') == (run / 'checkpoints', 3)
  with pytest.raises(ValueError, match="--checkpoint must be 'best', 'last' or a step number; got 'latest'"):
    evaluate.checkpoint_dir(run, 'latest')
  with pytest.raises(FileNotFoundError, match=r'no checkpoint 5 in .*checkpoints; it holds steps \[3, 6\]'):
    evaluate.evaluate(run, checkpoint='5', num_bootstrap=10)


def test_test_time_augmentation_averages_the_views(run, report):
  flips = evaluate.evaluate(run, tta='flips', num_bootstrap=10)
  assert flips['tta'] == 'flips' and flips['report_dir'] == str(run / 'report' / 'test-tta_flips')
  assert flips['metrics']['log_loss']['value'] != report['metrics']['log_loss']['value']


def test_another_data_set_with_the_same_classes(run, report, data_dir):
  """A data set named at evaluation: here the synthetic lesions drawn with another seed."""
  fields = {**tiny_config(data_dir).dataset.builder_config.to_dict(), 'seed': 7}
  other = evaluate.evaluate(run, num_bootstrap=10, dataset={'builder_config': fields})
  assert other['metrics']['num_examples']['value'] == 40
  assert other['report_dir'] == str(run / 'report' / 'synthetic_lesions-test')
  assert other['metrics']['log_loss']['value'] != report['metrics']['log_loss']['value']


def test_a_checkpoint_of_another_network_is_refused_by_name(run, tmp_path):
  other = epath.Path(tmp_path / 'other')
  shutil.copytree(run, other)
  config = json.loads((other / 'config.json').read_text())
  config['model']['name'] = 'cancernet_sca_a'
  (other / 'config.json').write_text(json.dumps(config))
  with pytest.raises(ValueError, match=r'does not fit this network: .*(missing|unexpected|shape)'):
    evaluate.evaluate(other, num_bootstrap=10)
  with pytest.raises(FileNotFoundError, match=r'config.json does not exist: .* is not a skinjax run'):
    evaluate.evaluate(tmp_path, num_bootstrap=10)


def test_command_line(run):
  result = run_module('skinjax.evaluate', f'--workdir={run}', '--checkpoint=last', '--bootstrap=20')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'auroc:' in result.stdout and f'Report: {run}/report/test/report.md' in result.stdout


def test_operating_point_is_the_highest_threshold_reaching_the_target():
  rng = np.random.default_rng(2)
  labels = rng.integers(0, 2, 200)
  p1 = np.clip(0.3 * labels + rng.uniform(0, 0.7, 200), 0, 1)
  probs = np.stack([1 - p1, p1], 1)
  t = metrics.thresholds_for_sensitivity(probs, labels, 0.9)[1]
  found = p1[labels == 1] > t
  assert found.mean() >= 0.9
  assert (p1[labels == 1] > np.min(p1[labels == 1][found])).mean() < 0.9  # One step higher misses it.


def test_temperature_scaling_fixes_overconfidence():
  rng = np.random.default_rng(3)
  labels = rng.integers(0, 3, 2000)
  logits = rng.normal(size=(2000, 3)) + 1.0 * np.eye(3)[labels]
  calibrated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  overconfident = metrics.with_temperature(calibrated, 0.3)
  assert metrics.fit_temperature(overconfident, labels) == pytest.approx(1 / 0.3, rel=0.1)
  assert metrics.expected_calibration_error(calibrated, labels) < 0.03
  assert metrics.expected_calibration_error(overconfident, labels) > 0.1
