r"""Runs skinjax on GPU nodes of a SLURM cluster, one process per node with all its GPUs:

  python launch/slurm.py --nodes=2 --gpus_per_node=8 --config=configs/scab.py --workdir=/shared/runs/scab-b \
      [--set=batch_size=512] [--partition=gpu] [--time=24:00:00] [--dry-run]

writes `WORKDIR/job.sbatch` and submits it with `sbatch` (`--dry-run` prints the script instead).
`skinjax.main` finds SLURM's variables and calls `jax.distributed.initialize()`, which takes the
coordinator (the first node), the process count and each process's index from them; every
process sees its node's GPUs, and the global batch is sharded over all of them. The job
installs JAX's CUDA build of the locked version into the project's environment first
(`make install` must have run on shared storage).
"""

import argparse
import pathlib
import shlex
import subprocess
import sys


def script(args) -> str:
  flags = [f'--config={args.config}', f'--workdir={args.workdir}', *(f'--config.{s}' for s in args.set)]
  lines = [
    '#!/bin/bash',
    f'#SBATCH --job-name={args.job_name}',
    f'#SBATCH --nodes={args.nodes}',
    '#SBATCH --ntasks-per-node=1',
    f'#SBATCH --gpus-per-node={args.gpus_per_node}',
    f'#SBATCH --cpus-per-task={args.cpus_per_task}',
    f'#SBATCH --time={args.time}',
    f'#SBATCH --output={args.workdir}/slurm-%j.out',
    *([f'#SBATCH --partition={args.partition}'] if args.partition else []),
    'set -euo pipefail',
    f'cd {shlex.quote(str(args.project))}',
    '.venv/bin/pip install --quiet "jax[cuda12]==$(sed -n s/^jax==//p requirements.lock)"',
    'srun .venv/bin/python -m skinjax.main ' + ' '.join(map(shlex.quote, flags)),
  ]
  return '\n'.join(lines) + '\n'


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument('--dry-run', action='store_true', help='Print the job script without submitting it.')
  p.add_argument('--nodes', type=int, default=1)
  p.add_argument('--gpus_per_node', type=int, default=8)
  p.add_argument('--cpus_per_task', type=int, default=16, help='Input pipeline threads per node.')
  p.add_argument('--partition', default='')
  p.add_argument('--time', default='24:00:00')
  p.add_argument('--job_name', default='skinjax')
  p.add_argument('--project', type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[1])
  p.add_argument('--config', default='configs/scab.py')
  p.add_argument('--workdir', required=True, help='Shared storage every node can write.')
  p.add_argument('--set', action='append', default=[], help='A config override, e.g. batch_size=512.')
  return p


def main(argv: list[str]) -> int:
  args = parser().parse_args(argv)
  text = script(args)
  if args.dry_run:
    print(text, end='')
    return 0
  path = pathlib.Path(args.workdir) / 'job.sbatch'
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(text)
  print(f'sbatch {path}', flush=True)
  return subprocess.run(['sbatch', str(path)], check=True).returncode


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
