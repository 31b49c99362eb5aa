"""The launch scripts' dry runs print exactly the commands they would run."""

import shlex
import subprocess
import sys

from conftest import ROOT


def _dry_run(script: str, *args: str) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, str(ROOT / 'launch' / script), '--dry-run', *args], capture_output=True, text=True, check=False
  )


def _commands(*args: str) -> list[list[str]]:
  result = _dry_run('tpu.py', *args)
  assert result.returncode == 0, result.stderr
  return [shlex.split(line) for line in result.stdout.splitlines()]


def test_tpu_pod_slice_from_creation_to_deletion():
  where = ['--name=derm', '--zone=us-central2-b']
  assert _commands('create', *where, '--accelerator=v4-32', '--spot') == [
    'gcloud compute tpus tpu-vm create derm --zone=us-central2-b --accelerator-type=v4-32 '
    '--version=tpu-ubuntu2204-base --spot'.split()
  ]
  [setup] = _commands('setup', *where, '--ref=v1.0')
  assert setup[:8] == 'gcloud compute tpus tpu-vm ssh derm --zone=us-central2-b --worker=all'.split()
  assert 'git checkout v1.0 && make install PYTHON=python3.11' in setup[8]
  assert '"jax[tpu]==$(sed -n s/^jax==//p requirements.lock)"' in setup[8]
  [prepare] = _commands('prepare', *where, '--bucket=derm-data', '--dataset=isic2019')
  assert prepare[7] == '--worker=0'
  assert prepare[8] == (
    '--command=gcloud storage cp -r gs://derm-data/manual/isic2019 ~/manual && cd skinjax && '
    '.venv/bin/python -m tfds_builders.build tfds_builders/isic2019 --manual_dir=$HOME/manual/isic2019 '
    '--file_format=array_record --data_dir=gs://derm-data/tensorflow_datasets'
  )
  [train] = _commands('train', *where, '--bucket=derm-data', '--config=configs/scab.py:model=cancernet_sca_c')
  assert train[7:] == [
    '--worker=all',
    '--command=cd skinjax && .venv/bin/python -m skinjax.main --config=configs/scab.py:model=cancernet_sca_c '
    '--workdir=gs://derm-data/runs/run --config.dataset.data_dir=gs://derm-data/tensorflow_datasets',
  ]
  assert _commands('tensorboard', '--bucket=derm-data') == [['tensorboard', '--logdir=gs://derm-data/runs']]
  assert _commands('delete', *where) == ['gcloud compute tpus tpu-vm delete derm --zone=us-central2-b --quiet'.split()]


def test_tpu_config_overrides_are_passed_on():
  [train] = _commands('train', '--bucket=b', '--run=big', '--set=batch_size=1024', '--set=optimizer.warmup_steps=500')
  assert train[-1].endswith(
    '--workdir=gs://b/runs/big --config.dataset.data_dir=gs://b/tensorflow_datasets '
    '--config.batch_size=1024 --config.optimizer.warmup_steps=500'
  )


def test_tpu_mistakes_are_named():
  result = _dry_run('tpu.py', 'train')
  assert result.returncode != 0 and 'train needs --bucket' in result.stderr
  result = _dry_run('tpu.py', 'create', '--accelerator=v9-8')
  assert (
    result.returncode != 0 and "--accelerator=v9-8: expected one of ['v4', 'v5litepod', 'v5p', 'v6e']" in result.stderr
  )


def test_slurm_job_script(tmp_path):
  result = _dry_run('slurm.py', '--nodes=4', '--gpus_per_node=8', f'--workdir={tmp_path}/run', '--set=batch_size=512')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert {'#SBATCH --nodes=4', '#SBATCH --ntasks-per-node=1', '#SBATCH --gpus-per-node=8'} <= set(lines)
  assert lines[-1] == (
    f'srun .venv/bin/python -m skinjax.main --config=configs/scab.py --workdir={tmp_path}/run --config.batch_size=512'
  )
  assert f'cd {ROOT}' in lines
  syntax = subprocess.run(['bash', '-n'], input=result.stdout, capture_output=True, text=True, check=False)
  assert syntax.returncode == 0, syntax.stderr
