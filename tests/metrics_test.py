"""skinjax.metrics against scikit-learn."""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from skinjax import metrics


@pytest.fixture
def binary_predictions():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 2, 300)
  p1 = np.clip(0.3 * labels + rng.normal(0.35, 0.2, 300), 0, 1).round(2)  # Rounded: ties.
  return np.stack([1 - p1, p1], 1), labels


def test_binary_metrics_match_sklearn(binary_predictions):
  probs, labels = binary_predictions
  out = metrics.classification_metrics(probs, labels, ('benign', 'malignant'))
  pred = probs.argmax(1)
  tn, fp, fn, tp = skm.confusion_matrix(labels, pred).ravel()
  assert out['accuracy'] == pytest.approx(skm.accuracy_score(labels, pred))
  assert out['sensitivity'] == pytest.approx(skm.recall_score(labels, pred))
  assert out['specificity'] == pytest.approx(tn / (tn + fp))
  assert out['ppv'] == pytest.approx(skm.precision_score(labels, pred))
  assert out['npv'] == pytest.approx(tn / (tn + fn))
  assert out['f1'] == pytest.approx(skm.f1_score(labels, pred))
  assert out['auroc'] == pytest.approx(skm.roc_auc_score(labels, probs[:, 1]), abs=1e-12)
  assert out['auprc'] == pytest.approx(skm.average_precision_score(labels, probs[:, 1]), abs=1e-12)
  assert out['num_examples'] == 300


def test_multiclass_metrics_match_sklearn():
  rng = np.random.default_rng(1)
  labels = rng.integers(0, 7, 500)
  logits = rng.normal(size=(500, 7)) + 1.5 * np.eye(7)[labels]
  probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  names = tuple('abcdefg')
  out = metrics.classification_metrics(probs, labels, names)
  assert out['log_loss'] == pytest.approx(skm.log_loss(labels, probs))
  pred = probs.argmax(1)
  assert out['balanced_accuracy'] == pytest.approx(skm.balanced_accuracy_score(labels, pred))
  assert out['mean_class_precision'] == pytest.approx(skm.precision_score(labels, pred, average='macro'))
  assert out['f1/macro'] == pytest.approx(skm.f1_score(labels, pred, average='macro'))
  assert out['auroc/macro'] == pytest.approx(skm.roc_auc_score(labels, probs, multi_class='ovr'))
  assert out['top3_accuracy'] == pytest.approx(skm.top_k_accuracy_score(labels, probs, k=3))
  onehot = np.eye(7)[labels]
  for k, name in enumerate(names):
    assert out[f'auprc/{name}'] == pytest.approx(skm.average_precision_score(onehot[:, k], probs[:, k]))
    assert out[f'sensitivity/{name}'] == pytest.approx(skm.recall_score(labels == k, pred == k))


def test_undefined_values_are_nan():
  probs = np.array([[0.9, 0.1], [0.8, 0.2]])
  out = metrics.classification_metrics(probs, np.array([0, 0]), ('benign', 'malignant'))
  assert np.isnan(out['ppv']) and np.isnan(out['auroc']) and np.isnan(out['sensitivity'])
  assert out['specificity'] == 1.0


def test_a_subgroup_of_one_class_has_nan_macro_auroc_without_a_warning():
  # evaluate.py scores subgroups (a body site, an age band) that may hold one class only.
  probs = np.random.default_rng(0).dirichlet(np.ones(7), size=3)
  with warnings.catch_warnings():
    warnings.simplefilter('error')
    out = metrics.classification_metrics(probs, np.array([2, 2, 2]), tuple('abcdefg'))
  assert np.isnan(out['auroc/macro']) and np.isnan(out['auroc/c'])
  assert out['balanced_accuracy'] == out['sensitivity/c']  # The only class with a defined recall.
