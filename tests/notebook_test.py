"""The quickstart notebook runs headless (nbclient) with SMALL settings, so it cannot rot."""

import nbformat
from conftest import ROOT
from nbclient import NotebookClient


def test_quickstart_runs(tmp_path):
  notebook = nbformat.read(ROOT / 'notebooks' / 'quickstart.ipynb', as_version=4)
  notebook.cells = [c for c in notebook.cells if 'colab-only' not in c.metadata.get('tags', [])]
  [parameters] = [c for c in notebook.cells if 'parameters' in c.metadata.get('tags', [])]
  parameters.source = f"SMALL = True\nWORKDIR = '{tmp_path}/quickstart'"
  NotebookClient(notebook, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(ROOT)}}).execute()
  outputs = [o for c in notebook.cells if c.cell_type == 'code' for o in c.outputs]
  assert not [o for o in outputs if o.output_type == 'error']
  assert any('image/png' in o.get('data', {}) for o in outputs)  # The ROC curve and the overlay.
  printed = ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')
  assert "'accuracy'" in printed and ("'benign'" in printed or "'malignant'" in printed)
