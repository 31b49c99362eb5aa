r"""Runs skinjax on a Cloud TPU VM, one host or a multi-host pod slice, step by step:

  python launch/tpu.py create  --name=skinjax --zone=us-central2-b --accelerator=v4-32 [--spot]
  python launch/tpu.py setup   --name=skinjax --zone=us-central2-b [--ref=main]
  python launch/tpu.py prepare --name=skinjax --zone=us-central2-b --bucket=my-bucket --dataset=isic2019
  python launch/tpu.py train   --name=skinjax --zone=us-central2-b --bucket=my-bucket --config=configs/scab.py \
      --run=scab-b [--set=batch_size=256 --set=num_epochs=30]
  python launch/tpu.py tensorboard --bucket=my-bucket
  python launch/tpu.py delete  --name=skinjax --zone=us-central2-b

Each step prints the exact command it runs; `--dry-run` prints it without running it. `setup`
and `train` run on every worker at once (`--worker=all`), which is how a pod slice starts one
process per host; `skinjax.main` then joins them with `jax.distributed.initialize()`. `prepare`
copies the manual download from `gs://BUCKET/manual/DATASET` to worker 0 and builds the TFDS
data set into `gs://BUCKET/tensorflow_datasets`, which every worker reads in `train`; checkpoints
and TensorBoard logs go to `gs://BUCKET/runs/RUN`.
"""

import argparse
import shlex
import subprocess
import sys

# TPU VM software versions by accelerator generation (cloud.google.com/tpu/docs/runtimes).
RUNTIMES = {
  'v4': 'tpu-ubuntu2204-base',
  'v5litepod': 'v2-alpha-tpuv5-lite',
  'v5p': 'v2-alpha-tpuv5',
  'v6e': 'v2-alpha-tpuv6e',
}


def _ssh(args, command: str, worker: str = 'all') -> list[str]:
  return [
    'gcloud',
    'compute',
    'tpus',
    'tpu-vm',
    'ssh',
    args.name,
    f'--zone={args.zone}',
    f'--worker={worker}',
    f'--command={command}',
  ]


def create(args) -> list[list[str]]:
  generation = args.accelerator.split('-')[0]
  if generation not in RUNTIMES:
    raise SystemExit(f'--accelerator={args.accelerator}: expected one of {sorted(RUNTIMES)} followed by -<cores>.')
  command = ['gcloud', 'compute', 'tpus', 'tpu-vm', 'create', args.name, f'--zone={args.zone}']
  command += [f'--accelerator-type={args.accelerator}', f'--version={args.runtime or RUNTIMES[generation]}']
  return [command + (['--spot'] if args.spot else [])]


def setup(args) -> list[list[str]]:
  """Python 3.11 (Ubuntu 22.04 TPU images have 3.10), skinjax, and JAX's TPU build of the locked version."""
  install = (
    'sudo apt-get update -qq && sudo apt-get install -y -qq python3.11 python3.11-venv && '
    f'(git clone {args.repository} skinjax || git -C skinjax fetch) && cd skinjax && '
    f'git checkout {shlex.quote(args.ref)} && make install PYTHON=python3.11 && '
    '.venv/bin/pip install "jax[tpu]==$(sed -n s/^jax==//p requirements.lock)"'
  )
  return [_ssh(args, install)]


def prepare(args) -> list[list[str]]:
  build = (
    f'gcloud storage cp -r gs://{args.bucket}/manual/{args.dataset} ~/manual && cd skinjax && '
    f'.venv/bin/python -m tfds_builders.build tfds_builders/{args.dataset} --manual_dir=$HOME/manual/{args.dataset} '
    f'--file_format=array_record --data_dir=gs://{args.bucket}/tensorflow_datasets'
  )
  return [_ssh(args, build, worker='0')]


def train(args) -> list[list[str]]:
  flags = [
    f'--config={args.config}',
    f'--workdir=gs://{args.bucket}/runs/{args.run}',
    f'--config.dataset.data_dir=gs://{args.bucket}/tensorflow_datasets',
    *(f'--config.{s}' for s in args.set),
  ]
  return [_ssh(args, 'cd skinjax && .venv/bin/python -m skinjax.main ' + ' '.join(map(shlex.quote, flags)))]


def tensorboard(args) -> list[list[str]]:
  return [['tensorboard', f'--logdir=gs://{args.bucket}/runs']]


def delete(args) -> list[list[str]]:
  return [['gcloud', 'compute', 'tpus', 'tpu-vm', 'delete', args.name, f'--zone={args.zone}', '--quiet']]


STEPS = {
  'create': create,
  'setup': setup,
  'prepare': prepare,
  'train': train,
  'tensorboard': tensorboard,
  'delete': delete,
}


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('step', choices=list(STEPS))
  p.add_argument('--dry-run', action='store_true', help='Print the commands without running them.')
  p.add_argument('--name', default='skinjax', help='The TPU VM.')
  p.add_argument('--zone', default='us-central2-b')
  p.add_argument('--accelerator', default='v4-8', help='e.g. v4-8 (one host), v4-32 (four hosts), v5litepod-16.')
  p.add_argument('--runtime', default='', help='TPU VM software version; default by generation.')
  p.add_argument('--spot', action='store_true', help='A preemptible (spot) TPU; runs resume from checkpoints.')
  p.add_argument('--repository', default='https://github.com/skinjax/skinjax')
  p.add_argument('--ref', default='main', help='The skinjax git ref to install.')
  p.add_argument('--bucket', default='', help='A Cloud Storage bucket for data, checkpoints and logs.')
  p.add_argument('--dataset', default='isic2019', help='A builder in tfds_builders/.')
  p.add_argument('--config', default='configs/scab.py')
  p.add_argument('--run', default='run', help='The run, under gs://BUCKET/runs/.')
  p.add_argument('--set', action='append', default=[], help='A config override, e.g. batch_size=256.')
  return p


def main(argv: list[str]) -> int:
  args = parser().parse_args(argv)
  if args.step in ('prepare', 'train', 'tensorboard') and not args.bucket:
    raise SystemExit(f'{args.step} needs --bucket: data, checkpoints and logs live in Cloud Storage.')
  for command in STEPS[args.step](args):
    print(shlex.join(command), flush=True)
    if not args.dry_run:
      subprocess.run(command, check=True)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
