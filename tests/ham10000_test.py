"""benchmarks/ham10000.py on real HAM10000 images, and its run scored on an official test part
with `skinjax.evaluate`, as its docstring tells whoever has the ISIC 2018 Task 3 test set."""

import csv
import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_module

from tfds_builders import testing
from tfds_builders.isic2018_task3 import isic2018_task3_dataset_builder as isic

pytestmark = pytest.mark.skipif(not testing.HAM.is_dir(), reason=f'needs the shared HAM10000 subset at {testing.HAM}')
TRAIN, TEST = 80, 12  # Images of the subset in the training part and in the stand-in test part.


def _manual(tmp_path):
  """The subset's first TRAIN images as the released training part, the next TEST ones as a
  test part laid out as the challenge released it."""
  manual = tmp_path / 'manual'
  rows = (testing.HAM / isic.PARTS['train'][1]).read_text().splitlines()
  parts = {'train': rows[1 : TRAIN + 1], 'test': rows[TRAIN + 1 : TRAIN + TEST + 1]}
  for split, lines in parts.items():
    folder, truth = isic.PARTS[split]
    (manual / folder).mkdir(parents=True)
    for line in lines:
      name = line.split(',')[0] + '.jpg'
      shutil.copy(testing.HAM / isic.PARTS['train'][0] / name, manual / folder / name)
    (manual / truth).write_text('\n'.join([rows[0], *lines]) + '\n')
  shutil.copy(testing.HAM / isic.METADATA, manual / isic.METADATA)
  return manual, [line.split(',')[0] for line in parts['test']]


def test_a_benchmark_run_is_scored_on_the_official_test_part(tmp_path):
  manual, test_ids = _manual(tmp_path)
  workdir, data_dir = tmp_path / 'runs', tmp_path / 'tfds'
  tiny = ['num_epochs=0.5', 'dataset.image_size=32', 'batch_size=16', 'dataset.num_threads=0']
  result = subprocess.run(
    [sys.executable, 'benchmarks/ham10000.py', '--recipes=scratch_fusion', f'--workdir={workdir}']
    + [f'--manual_dir={manual}', f'--data_dir={data_dir}', '--bootstrap=20', *(f'--set={s}' for s in tiny)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    check=False,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert '| scratch_fusion | 0 | ' in result.stdout
  run = workdir / 'scratch_fusion' / 'seed_0'
  validation = json.loads((run / 'report' / 'validation' / 'report.json').read_text())
  assert 0 < validation['metrics']['num_examples']['value'] < TRAIN  # The lesion-grouped held-out part.
  config = json.loads((run / 'config.json').read_text())
  assert (config['model']['name'], config['model']['fusion']) == ('efficientnet_lite0', 'early')

  result = run_module(
    'skinjax.evaluate',
    f'--workdir={run}',
    '--split=test',
    '--checkpoint=last',
    '--dataset=isic2018_task3/official',
    f'--manual_dir={manual}',
    f'--data_dir={data_dir}',
    '--bootstrap=20',
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = run / 'report' / 'isic2018_task3-official-test'
  with open(out / 'predictions.csv') as f:
    predictions = list(csv.DictReader(f))
  assert sorted(p['image'] for p in predictions) == sorted(test_ids)
  assert sorted(predictions[0]) == sorted(['image', *isic.COLUMNS])  # The challenge's format.
  assert all(abs(sum(float(p[c]) for c in isic.COLUMNS) - 1) < 1e-4 for p in predictions)
