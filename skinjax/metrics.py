"""Classification metrics from predicted probabilities (numpy; checked against scikit-learn and
the ISIC challenge's scorer).

Binary tasks report the positive class (index 1, 'malignant'); multi-class tasks report macro
averages, balanced accuracy (mean recall), mean class precision and every per-class value as
`<metric>/<class name>`. A value whose denominator is zero (say PPV with no positive
predictions) is NaN; the ISIC scorer counts such a value as 1.0 instead.
"""

from collections.abc import Callable

import numpy as np
import scipy.optimize


def direction(name: str) -> int:
  """+1 for a metric where higher is better, -1 for a loss ('validation/log_loss')."""
  return -1 if 'loss' in name else 1


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def _cumulative_counts(positive: np.ndarray, score: np.ndarray):
  """(true positives, false positives, thresholds) when predicting positive at score >= each
  distinct score, from the highest threshold down."""
  order = np.argsort(-score, kind='stable')
  score, positive = score[order], positive[order]
  last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # Last index of each threshold.
  tps = np.cumsum(positive)[last]
  return tps, last + 1 - tps, score[last]


def roc_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(false positive rates, true positive rates, thresholds) at every distinct score, starting at
  (0, 0) for threshold +inf: scikit-learn's `roc_curve(drop_intermediate=False)`."""
  tps, fps, thresholds = _cumulative_counts(positive, score)
  return np.r_[0, fps] / max(fps[-1], 1), np.r_[0, tps] / max(tps[-1], 1), np.r_[np.inf, thresholds]


def precision_recall_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(precision, recall) at every distinct score, from the highest threshold down."""
  tps, fps, _ = _cumulative_counts(positive, score)
  return tps / (tps + fps), tps / max(tps[-1], 1)


def auroc(positive: np.ndarray, score: np.ndarray) -> float:
  """Area under the ROC curve (ties count half); NaN with one class only."""
  if positive.all() or not positive.any():
    return float('nan')
  fpr, tpr, _ = roc_curve(positive, score)
  return float(np.trapezoid(tpr, fpr))


def partial_auroc(positive: np.ndarray, score: np.ndarray, min_sensitivity: float = 0.8) -> float:
  """Area under the ROC curve where sensitivity >= `min_sensitivity`, not normalised (the ISIC
  challenge's 'auc_sens_80': the curve is cut at exactly that sensitivity by interpolation)."""
  if positive.all() or not positive.any():
    return float('nan')
  fpr, tpr, _ = roc_curve(positive, score)
  i = np.searchsorted(tpr, min_sensitivity, side='left')
  fpr_at = np.interp(min_sensitivity, tpr[i - 1 : i + 1], fpr[i - 1 : i + 1])
  return float(np.trapezoid(np.r_[min_sensitivity, tpr[i:]], np.r_[fpr_at, fpr[i:]]))


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
  """Area under the precision-recall curve as a step sum over distinct thresholds (AUPRC)."""
  if not positive.any():
    return float('nan')
  precision, recall = precision_recall_curve(positive, score)
  return float(np.sum(np.diff(recall, prepend=0) * precision))


def _rates(actual: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
  """Per-class rates of boolean [N, K] truths and predictions, one class against the rest."""
  tp = (actual & predicted).sum(0)
  fp = (~actual & predicted).sum(0)
  fn = (actual & ~predicted).sum(0)
  tn = (~actual & ~predicted).sum(0)
  return {
    'sensitivity': _ratio(tp, tp + fn),
    'specificity': _ratio(tn, tn + fp),
    'ppv': _ratio(tp, tp + fp),
    'npv': _ratio(tn, tn + fn),
    'f1': _ratio(2 * tp, 2 * tp + fp + fn),
  }


def _mean_defined(values: np.ndarray) -> float:
  """The mean of the values that are not NaN; NaN, without numpy's warning, where none is."""
  defined = values[~np.isnan(values)]
  return float(defined.mean()) if defined.size else float('nan')


def _named(per_class: dict[str, np.ndarray], class_names: tuple[str, ...]) -> dict[str, float]:
  """Binary: the positive class's values; multi-class: the macro average and each class's."""
  if len(class_names) == 2:
    return {name: float(values[1]) for name, values in per_class.items()}
  out = {}
  for name, values in per_class.items():
    out[f'{name}/macro'] = _mean_defined(values)
    out.update({f'{name}/{c}': float(v) for c, v in zip(class_names, values, strict=True)})
  return out


def _onehot(labels: np.ndarray, num_classes: int) -> np.ndarray:
  return np.asarray(labels)[:, None] == np.arange(num_classes)


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
  """Mean negative log probability of the true class (probabilities clipped at 1e-7)."""
  normalised = probs / probs.sum(1, keepdims=True)  # Sigmoid outputs need not sum to 1.
  return float(-np.mean(np.log(np.clip(normalised[np.arange(len(labels)), labels], 1e-7, 1))))


def classification_metrics(probs: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> dict[str, float]:
  """Metrics of `probs` [N, K] against integer `labels` [N]; predictions are the argmax."""
  probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
  num_classes = probs.shape[1]
  pred = probs.argmax(1)
  onehot = _onehot(labels, num_classes)
  per_class = _rates(onehot, _onehot(pred, num_classes))
  per_class['auroc'] = np.array([auroc(onehot[:, k], probs[:, k]) for k in range(num_classes)])
  per_class['auprc'] = np.array([average_precision(onehot[:, k], probs[:, k]) for k in range(num_classes)])
  per_class['pauroc80'] = np.array([partial_auroc(onehot[:, k], probs[:, k]) for k in range(num_classes)])
  out = {'accuracy': float(np.mean(pred == labels)), 'log_loss': log_loss(probs, labels)}
  out['num_examples'] = float(len(labels))
  if num_classes > 2:
    out['balanced_accuracy'] = _mean_defined(per_class['sensitivity'])
    out['mean_class_precision'] = _mean_defined(per_class['ppv'])
    out['top3_accuracy'] = float(np.mean((np.argsort(-probs, 1)[:, :3] == labels[:, None]).any(1)))
  return {**out, **_named(per_class, class_names)}


def threshold_metrics(
  probs: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, class_names: tuple[str, ...]
) -> dict[str, float]:
  """Each class against the rest, predicted where its probability > its threshold (0.5 is the
  ISIC scorer's rule); 'accuracy' is per class too."""
  onehot = _onehot(labels, len(class_names))
  predicted = np.asarray(probs) > np.asarray(thresholds)
  per_class = _rates(onehot, predicted)
  per_class['accuracy'] = np.mean(onehot == predicted, axis=0)
  return _named(per_class, class_names)


def thresholds_for_sensitivity(probs: np.ndarray, labels: np.ndarray, target: float) -> np.ndarray:
  """Per class, the highest threshold t at which 'probability > t' finds at least `target` of
  that class (an operating point chosen on validation): halfway between the score of the
  positive that must still be found and the next lower score."""
  probs = np.asarray(probs, np.float64)
  out = np.full(probs.shape[1], np.nan)
  for k, positive in enumerate(_onehot(labels, probs.shape[1]).T):
    found = np.sort(probs[positive, k])[::-1]
    if not len(found):
      continue
    needed = found[int(np.ceil(target * len(found))) - 1]
    lower = probs[probs[:, k] < needed, k]
    out[k] = (needed + (lower.max() if len(lower) else 0.0)) / 2
  return out


def confusion_matrix(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
  """Counts [true class, predicted class] of the argmax predictions."""
  num_classes = np.shape(probs)[1]
  return np.bincount(np.asarray(labels) * num_classes + np.argmax(probs, 1), minlength=num_classes**2).reshape(
    num_classes, num_classes
  )


def bootstrap(
  fn: Callable[[np.ndarray], dict[str, float]], n: int, num_samples: int, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
  """Percentile bootstrap intervals of each metric `fn(indices)` over `num_samples` resamples of
  the `n` examples (a resample where a metric is undefined, say one without positives, is left
  out of that metric's interval)."""
  rng = np.random.default_rng(seed)
  samples = [fn(rng.integers(0, n, n)) for _ in range(num_samples)]
  tail = 100 * (1 - level) / 2
  out = {}
  for key in samples[0]:
    values = np.array([s[key] for s in samples], np.float64)
    values = values[np.isfinite(values)]
    out[key] = tuple(np.percentile(values, [tail, 100 - tail])) if len(values) else (np.nan, np.nan)
  return out


def calibration_bins(probs: np.ndarray, labels: np.ndarray, num_bins: int = 15):
  """(mean confidence, accuracy, count) of the top-class predictions in `num_bins` equal-width
  confidence bins; empty bins are NaN with count 0."""
  confidence = np.max(probs, 1)
  correct = np.argmax(probs, 1) == labels
  which = np.minimum((confidence * num_bins).astype(int), num_bins - 1)
  count = np.bincount(which, minlength=num_bins)
  mean_conf = _ratio(np.bincount(which, confidence, num_bins), count)
  accuracy = _ratio(np.bincount(which, correct.astype(float), num_bins), count)
  return mean_conf, accuracy, count


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, num_bins: int = 15) -> float:
  """Guo et al. (2017): the count-weighted mean |accuracy - confidence| over confidence bins."""
  mean_conf, accuracy, count = calibration_bins(probs, labels, num_bins)
  return float(np.nansum(count * np.abs(accuracy - mean_conf)) / count.sum())


def with_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
  """Probabilities rescaled as softmax(log(probs) / temperature)."""
  logits = np.log(np.clip(probs / probs.sum(1, keepdims=True), 1e-12, 1)) / temperature
  logits -= logits.max(1, keepdims=True)
  return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
  """The temperature that minimises the log loss of `probs` (temperature scaling, Guo et al.)."""

  def scaled_log_loss(log_t):
    return log_loss(with_temperature(probs, np.exp(log_t)), labels)

  return float(np.exp(scipy.optimize.minimize_scalar(scaled_log_loss, bounds=(-4, 4), method='bounded').x))
