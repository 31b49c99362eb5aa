"""Classification metrics from predicted probabilities (numpy; checked against scikit-learn).

Binary tasks report the positive class (index 1, 'malignant'); multi-class tasks report macro
averages, balanced accuracy (mean recall), mean class precision and every per-class value as
`<metric>/<class name>`. A value whose denominator is zero (say PPV with no positive
predictions) is NaN.
"""

import numpy as np
import scipy.stats


def direction(name: str) -> int:
  """+1 for a metric where higher is better, -1 for a loss ('validation/log_loss')."""
  return -1 if 'loss' in name else 1


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def auroc(positive: np.ndarray, score: np.ndarray) -> float:
  """Area under the ROC curve (Mann-Whitney U, ties counted half); NaN with one class only."""
  n_pos = int(positive.sum())
  n_neg = len(positive) - n_pos
  if n_pos == 0 or n_neg == 0:
    return float('nan')
  ranks = scipy.stats.rankdata(score)
  return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
  """Area under the precision-recall curve as a step sum over distinct thresholds (AUPRC)."""
  if not positive.any():
    return float('nan')
  order = np.argsort(-score, kind='stable')
  score, positive = score[order], positive[order]
  last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # Last index of each threshold.
  tps = np.cumsum(positive)[last]
  precision = tps / (last + 1)
  recall = tps / tps[-1]
  return float(np.sum(np.diff(recall, prepend=0) * precision))


def classification_metrics(probs: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> dict[str, float]:
  """Metrics of `probs` [N, K] against integer `labels` [N]; predictions are the argmax."""
  probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
  num_classes = probs.shape[1]
  pred = probs.argmax(1)
  onehot = labels[:, None] == np.arange(num_classes)
  predicted = pred[:, None] == np.arange(num_classes)
  tp = (onehot & predicted).sum(0)
  fp = (~onehot & predicted).sum(0)
  fn = (onehot & ~predicted).sum(0)
  tn = (~onehot & ~predicted).sum(0)
  per_class = {
    'sensitivity': _ratio(tp, tp + fn),
    'specificity': _ratio(tn, tn + fp),
    'ppv': _ratio(tp, tp + fp),
    'npv': _ratio(tn, tn + fn),
    'f1': _ratio(2 * tp, 2 * tp + fp + fn),
    'auroc': np.array([auroc(onehot[:, k], probs[:, k]) for k in range(num_classes)]),
    'auprc': np.array([average_precision(onehot[:, k], probs[:, k]) for k in range(num_classes)]),
  }
  normalised = probs / probs.sum(1, keepdims=True)  # Sigmoid outputs need not sum to 1.
  log_loss = -np.mean(np.log(np.clip(normalised[np.arange(len(labels)), labels], 1e-7, 1)))
  out = {'accuracy': float(np.mean(pred == labels)), 'log_loss': float(log_loss), 'num_examples': float(len(labels))}
  if num_classes == 2:
    out.update({name: float(values[1]) for name, values in per_class.items()})
    return out
  out['balanced_accuracy'] = float(np.nanmean(per_class['sensitivity']))
  out['mean_class_precision'] = float(np.nanmean(per_class['ppv']))
  out['top3_accuracy'] = float(np.mean((np.argsort(-probs, 1)[:, :3] == labels[:, None]).any(1)))
  for name, values in per_class.items():
    out[f'{name}/macro'] = float(np.nanmean(values))
    out.update({f'{name}/{c}': float(v) for c, v in zip(class_names, values, strict=True)})
  return out
