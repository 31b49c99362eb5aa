"""Every command in README.md and docs/*.md runs, in the order the pages show them.

Commands come from ```bash blocks (a `# comment` ends a line's command), Python from ```python
blocks (each page's blocks run as one script). They run in a scratch directory that looks like a
checkout to them (`configs/`, `benchmarks/`, ... linked), with HOME there: `~/isic2018` is the
real HAM10000 subset in ../shared, and `lesion.jpg`, `other.png` and `my_examples/` are real
HAM10000 images. A few commands get flags appended so they take seconds (SHRINK: fewer steps,
smaller images, fewer seeds and repeats); servers are started, asked for their page, and
stopped; what cannot run here says why in NOT_HERE.
"""

import os
import pathlib
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT, SHARED, TINY
from PIL import Image

HAM = SHARED / 'data' / 'isic2018_task3_subset'
PAGES = [
  'README.md',
  *(
    f'docs/{p}.md'
    for p in ('data', 'training', 'models', 'evaluation', 'deployment', 'launch', 'benchmarks', 'extending')
  ),
]

NOT_HERE = {
  'make demo': '.ci/run runs it before the tests',
  'make test': 'runs this test',
  'python -m skinjax.evaluate --workdir=workdir/ham10000/imagenet_fusion/seed_0 --split=test --checkpoint=last '
  "--dataset=isic2018_task3/official '--manual_dir=~/isic2018'": 'needs the official test images; '
  'tests/ham10000_test.py scores a stand-in test part',
}
SERVERS = {'tensorboard': 6006, 'python -m skinjax.webapp': 7860}
REAL_DATA = [  # Training on the HAM10000 subset: 32x32 images, a few steps.
  '--config.dataset.image_size=32',
  '--config.batch_size=16',
  '--config.num_epochs=0.02',
  '--config.dataset.num_threads=0',
  '--config.log_every_steps=2',
]
SHRINK = [  # (a pattern the command matches, flags appended)
  (r'skinjax\.(main|runs) .*--config=configs/\w+\.py:demo', [f'--config.{k}={v}' for k, v in TINY.items()]),
  (r'--config=configs/\w+\.py .*--config.dataset.manual_dir=~/isic2018', REAL_DATA),
  (r'skinjax\.runs repeat', ['--num_seeds=2']),
  (r'skinjax\.runs search', ['--num_trials=2']),
  (r'skinjax\.runs grid', ["--config.grid=(('batch_size', (8, 16)),)"]),
  (r'skinjax\.evaluate', ['--bootstrap=20']),
  (r'skinjax\.models\.summary$', ['--image_size=32']),
  (r'benchmarks/depthwise\.py', ['--batch=2', '--size=16', '--channels=8', '--repeats=1']),
  (r'benchmarks/model_latency\.py', ['--image_size=32', '--batch_sizes=1', '--repeats=1']),
  (r'benchmarks/input_pipeline\.py', ['--images=128', '--batch=16']),
  (r'benchmarks/edge_latency\.py', ['--image_size=32', '--repeats=1']),
  (r'benchmarks/dermamnist\.py', ['--seeds=1', '--set=num_epochs=0.02', '--set=dataset.image_size=32']),
  (
    r'benchmarks/ham10000\.py',
    [
      '--recipes=imagenet,imagenet_fusion',
      '--seeds=2',  # The paired differences.
      '--set=num_epochs=0.02',
      '--set=dataset.image_size=32',
      '--bootstrap=20',
    ],
  ),
  (r'benchmarks/train_throughput\.py', ['--networks=mobilenet_v2', '--image_size=32', '--batch=4', '--steps=1']),
]


def blocks(text: str, language: str) -> list[str]:
  return [_dedent(b) for b in re.findall(rf'^( *)```{language}\n(.*?)^\1```', text, re.S | re.M)]


def _dedent(block: tuple[str, str]) -> str:
  indent, body = block
  return '\n'.join(line.removeprefix(indent) for line in body.splitlines())


def commands(text: str) -> list[str]:
  """The commands of a page's bash blocks: continuation lines joined, comments dropped."""
  found = []
  for block in blocks(text, 'bash'):
    for line in block.replace('\\\n', ' ').splitlines():
      words = shlex.split(line, comments=True)
      if words:
        found.append(shlex.join(words))
  return found


def shrunk(command: str) -> str:
  extra = [flag for pattern, flags in SHRINK if re.search(pattern, command) for flag in flags]
  return ' '.join([command, *map(shlex.quote, extra)])


@pytest.fixture(scope='module')
def sandbox(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp('docs')
  for name in ('configs', 'benchmarks', 'launch', 'tfds_builders', 'notebooks'):
    (root / name).symlink_to(ROOT / name)
  (root / 'isic2018').symlink_to(HAM)
  images = sorted((HAM / 'ISIC2018_Task3_Training_Input').glob('*.jpg'))[:3]
  (root / 'lesion.jpg').write_bytes(images[0].read_bytes())
  Image.open(images[1]).save(root / 'other.png')
  (root / 'my_examples').mkdir()
  (root / 'my_examples' / images[2].name).write_bytes(images[2].read_bytes())
  return root


def _env(sandbox: pathlib.Path) -> dict[str, str]:
  return {**os.environ, 'HOME': str(sandbox), 'PATH': f'{pathlib.Path(sys.executable).parent}:{os.environ["PATH"]}'}


def _serve(command: str, port: int, sandbox: pathlib.Path) -> str:
  """Starts a server, returns '' once it answers on `port` (or what went wrong), stops it and
  what it started."""
  with socket.socket() as probe:
    if probe.connect_ex(('127.0.0.1', port)) == 0:
      return f'port {port} is taken before the server starts'
  server = subprocess.Popen(
    command,
    shell=True,
    cwd=sandbox,
    env=_env(sandbox),
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
    start_new_session=True,
  )
  try:
    for _ in range(240):
      if server.poll() is not None:
        return f'exited with {server.returncode}: {server.stdout.read()[-3000:]}'
      try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/', timeout=2) as page:
          return '' if page.status == 200 else f'answered {page.status}'
      except OSError:
        time.sleep(0.5)
    return f'did not answer on port {port} within 2 minutes'
  finally:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def _run(command: str, sandbox: pathlib.Path) -> str:
  """'' if `command` succeeds in the sandbox, else its exit status and output's end."""
  server = next((port for prefix, port in SERVERS.items() if command.startswith(prefix)), None)
  if server:
    return _serve(command, server, sandbox)
  result = subprocess.run(
    shrunk(command), shell=True, cwd=sandbox, env=_env(sandbox), capture_output=True, text=True, timeout=900
  )
  return '' if result.returncode == 0 else f'exit {result.returncode}: {(result.stdout + result.stderr)[-3000:]}'


def test_pages_show_commands():
  shown = {page: commands((ROOT / page).read_text()) for page in PAGES}
  assert all(shown[page] for page in PAGES if page != 'docs/extending.md'), shown
  assert 'make demo' in shown['README.md'] and 'make test' in shown['README.md']
  assert sorted(map(str, (ROOT / 'docs').glob('*.md'))) == sorted(str(ROOT / p) for p in PAGES[1:])


@pytest.mark.skipif(not HAM.is_dir(), reason=f'needs the HAM10000 subset at {HAM}')
def test_every_command_runs(sandbox):
  failures, ran = [], 0
  for page in PAGES:
    text = (ROOT / page).read_text()
    for command in commands(text):
      if command in NOT_HERE:
        continue
      started = time.time()
      error = _run(command, sandbox)
      ran += 1
      print(f'{time.time() - started:6.1f}s {page}: {command}', flush=True)
      if error:
        failures.append(f'{page}: {command}\n{error}')
    python = blocks(text, 'python')
    if python:
      script = '\n'.join(python)
      result = subprocess.run(
        [sys.executable, '-c', script], cwd=sandbox, env=_env(sandbox), capture_output=True, text=True
      )
      if result.returncode:
        failures.append(f'{page}: its Python\n{result.stderr[-3000:]}')
  assert not failures, '\n\n'.join(failures)
  assert ran > 30
