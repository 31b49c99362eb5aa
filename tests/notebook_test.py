"""The notebooks run headless (nbclient) with SMALL settings, so they cannot rot."""

import nbformat
import pytest
from conftest import ROOT, SHARED
from nbclient import NotebookClient

HAM = SHARED / 'data' / 'isic2018_task3_subset'


def execute(name: str, parameters: str) -> tuple[list, str]:
  """Runs notebooks/`name` without its Colab-only cells, its parameters cell replaced; returns
  its outputs and what it printed."""
  notebook = nbformat.read(ROOT / 'notebooks' / name, as_version=4)
  notebook.cells = [c for c in notebook.cells if 'colab-only' not in c.metadata.get('tags', [])]
  [cell] = [c for c in notebook.cells if 'parameters' in c.metadata.get('tags', [])]
  cell.source = parameters
  NotebookClient(notebook, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(ROOT)}}).execute()
  outputs = [o for c in notebook.cells if c.cell_type == 'code' for o in c.outputs]
  assert not [o for o in outputs if o.output_type == 'error']
  return outputs, ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')


def test_quickstart_runs(tmp_path):
  outputs, printed = execute('quickstart.ipynb', f"SMALL = True\nWORKDIR = '{tmp_path}/quickstart'")
  assert any('image/png' in o.get('data', {}) for o in outputs)  # The ROC curve and the overlay.
  assert "'accuracy'" in printed and ("'benign'" in printed or "'malignant'" in printed)


@pytest.mark.skipif(not HAM.is_dir(), reason=f'needs the HAM10000 subset at {HAM}')
def test_bring_your_isic_data_runs_on_real_ham10000(tmp_path):
  outputs, printed = execute(
    'bring_your_isic_data.ipynb',
    f"MANUAL_DIR = '{HAM}'\nDATA_DIR = '{tmp_path}/tfds'\nWORKDIR = '{tmp_path}/ham'\nSMALL = True",
  )
  assert 'train: ' in printed and 'validation: ' in printed and "'nv'" in printed  # Split sizes and counts.
  assert "'balanced_accuracy'" in printed
  shown = [o.get('data', {}) for o in outputs]
  assert any('Confusion matrix' in d.get('text/markdown', '') for d in shown)  # The report.
  assert sum('image/png' in d for d in shown) >= 2  # The confusion matrix and the overlay.
  assert 'ISIC_' in printed and ('mel' in printed or 'nv' in printed)  # One image's top three.
