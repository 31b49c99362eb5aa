"""Trains and evaluates a network: `python -m skinjax.main --config=configs/scab.py --workdir=DIR`.

Any config field can be overridden, e.g. `--config.batch_size=64`; a misspelt field is an error.
"""

import logging as std_logging
import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from skinjax import input_pipeline, train

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Where checkpoints, TensorBoard logs and metrics.json go.', required=True)
config_flags.DEFINE_config_file('config', None, 'A config file, e.g. configs/scab.py:demo.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # Orbax reports every step of every save at INFO; keep its warnings only.
  logging.get_absl_handler().addFilter(
    lambda record: record.levelno >= std_logging.WARNING or '/orbax/' not in record.pathname
  )
  if _multi_host():
    jax.distributed.initialize()
  logging.info('JAX processes: %d; devices: %s', jax.process_count(), jax.devices())
  try:
    results = train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except input_pipeline.DataNotFoundError as e:
    sys.exit(
      f'{e}\nTo try skinjax without downloading anything, use the synthetic data set: --config=configs/scab.py:demo'
    )
  if jax.process_index() == 0:
    print(f'\nTensorBoard logs: {FLAGS.workdir}  (tensorboard --logdir {FLAGS.workdir})')
    print(f'Checkpoints:      {FLAGS.workdir}/checkpoints')
    print(f'Metrics:          {FLAGS.workdir}/metrics.json')
    for split, values in results.items():
      shown = ', '.join(f'{k} {v:.4f}' for k, v in values.items() if '/' not in k and k != 'num_examples')
      print(f'{split}: {shown}')


def _multi_host() -> bool:
  """True on a TPU VM or a cluster that `jax.distributed` can connect by itself."""
  return any(v in os.environ for v in ('TPU_WORKER_HOSTNAMES', 'SLURM_NTASKS', 'JAX_COORDINATOR_ADDRESS'))


if __name__ == '__main__':
  flags.mark_flags_as_required(['config'])
  app.run(main)
