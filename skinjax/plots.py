"""The pictures of an evaluation report: ROC and precision-recall curves, confusion matrices,
per-class F1 and a reliability diagram (matplotlib, no display needed). Each function returns a
figure; `save` writes it as PNG and returns its pixels for TensorBoard. `markdown_table` lays out
the tables of the reports beside them (evaluation, repeated runs, searches)."""

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from skinjax import metrics


def _classes(class_names: tuple[str, ...]) -> list[int]:
  """The classes a binary task plots (the positive one), or every class."""
  return [1] if len(class_names) == 2 else list(range(len(class_names)))


def roc(probs: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], operating_point=None) -> Figure:
  """ROC curve of each class against the rest, with its AUROC; `operating_point` (sensitivity,
  specificity) of the positive class is marked."""
  fig = Figure(figsize=(5, 5))
  ax = fig.subplots()
  for k in _classes(class_names):
    positive = labels == k
    fpr, tpr, _ = metrics.roc_curve(positive, probs[:, k])
    ax.plot(fpr, tpr, label=f'{class_names[k]} (AUROC {metrics.auroc(positive, probs[:, k]):.3f})')
  if operating_point is not None:
    sensitivity, specificity = operating_point
    ax.plot([1 - specificity], [sensitivity], 'ko', label='operating point')
  ax.plot([0, 1], [0, 1], ':', color='grey')
  ax.set(xlabel='1 - specificity', ylabel='sensitivity', title='ROC', xlim=(0, 1), ylim=(0, 1.01))
  ax.legend(loc='lower right', fontsize='small')
  return fig


def precision_recall(probs: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> Figure:
  """Precision-recall curve of each class against the rest, with its AUPRC and prevalence."""
  fig = Figure(figsize=(5, 5))
  ax = fig.subplots()
  for k in _classes(class_names):
    positive = labels == k
    precision, recall = metrics.precision_recall_curve(positive, probs[:, k])
    ap = metrics.average_precision(positive, probs[:, k])
    ax.step(np.r_[0, recall], np.r_[precision[0], precision], where='pre', label=f'{class_names[k]} (AUPRC {ap:.3f})')
  ax.set(xlabel='recall (sensitivity)', ylabel='precision (PPV)', title='Precision-recall', xlim=(0, 1), ylim=(0, 1.01))
  ax.legend(loc='lower left', fontsize='small')
  return fig


def confusion(counts: np.ndarray, class_names: tuple[str, ...]) -> Figure:
  """The confusion matrix as counts and normalised by row (each true class sums to 1)."""
  rows = counts / np.maximum(counts.sum(1, keepdims=True), 1)
  size = 2.5 + 0.6 * len(class_names)
  fig = Figure(figsize=(2 * size + 1, size), layout='constrained')
  for ax, values, title, fmt in zip(
    fig.subplots(1, 2), (counts, rows), ('counts', 'by true class'), ('d', '.2f'), strict=True
  ):
    ax.imshow(rows, cmap='Blues', vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(values):
      ax.text(j, i, format(v, fmt), ha='center', va='center', color='white' if rows[i, j] > 0.5 else 'black')
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha='right')
    ax.set_yticks(ticks, class_names)
    ax.set(xlabel='predicted', ylabel='true', title=title)
  return fig


def f1_bars(f1: dict[str, float]) -> Figure:
  """Each class's F1 score as a bar."""
  fig = Figure(figsize=(max(4, 1.5 + 0.7 * len(f1)), 4), layout='constrained')
  ax = fig.subplots()
  bars = ax.bar(list(f1), list(f1.values()), color='tab:blue')
  ax.bar_label(bars, fmt='%.2f')
  ax.set(ylabel='F1', ylim=(0, 1.05), title='F1 per class')
  ax.tick_params(axis='x', rotation=45)
  return fig


def reliability(curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Figure:
  """Accuracy against confidence per bin (`metrics.calibration_bins`) for each named set of
  probabilities (before and after temperature scaling, say); the diagonal is perfect calibration."""
  fig = Figure(figsize=(5, 5))
  ax = fig.subplots()
  ax.plot([0, 1], [0, 1], ':', color='grey', label='perfectly calibrated')
  for name, (confidence, accuracy, count) in curves.items():
    seen = count > 0
    ax.plot(confidence[seen], accuracy[seen], 'o-', label=name)
  ax.set(xlabel='confidence (top-class probability)', ylabel='accuracy', title='Reliability', xlim=(0, 1), ylim=(0, 1))
  ax.legend(loc='upper left', fontsize='small')
  return fig


def _png(fig: Figure) -> bytes:
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=100)
  return buffer.getvalue()


def _rgb(png: bytes) -> np.ndarray:
  return np.asarray(Image.open(io.BytesIO(png)).convert('RGB'))


def pixels(fig: Figure) -> np.ndarray:
  """`fig`'s RGB pixels [H, W, 3]."""
  return _rgb(_png(fig))


def save(fig: Figure, path) -> np.ndarray:
  """Writes `fig` to `path` as PNG; returns its RGB pixels [H, W, 3]."""
  png = _png(fig)
  path.write_bytes(png)
  return _rgb(png)


def markdown_table(header: list[str], rows: list[list]) -> str:
  """A Markdown table, ending with a newline."""
  cells = [header, ['---'] * len(header), *rows]
  return '\n'.join('| ' + ' | '.join(str(c) for c in row) + ' |' for row in cells) + '\n'
