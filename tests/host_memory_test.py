"""skinjax.host_memory: the temporary memory of a CPU program is not mapped afresh at each run."""

import json
import platform
import resource
import subprocess
import sys

import pytest

# In a fresh process: import skinjax, run a program whose 256 MB product is a temporary buffer
# (only its sum is returned) once, then count the page faults of each of 15 more runs, and print
# their median: now and then a run still maps its block afresh (cause not found), most reuse it.
# XLA's products run on Eigen here, not YNNPACK, whose worker threads take scratch memory of their
# own (64 MB in this program, mapped afresh at each run either way), which would blur the count.
PROBE = """
import json, resource, statistics
import skinjax
import jax, jax.numpy as jnp

program = jax.jit(lambda x: jnp.dot(x, x.T).sum())  # The 8192 x 8192 float32 product: 256 MB.
x = jnp.ones((8192, 16), jnp.float32)
program(x).block_until_ready()
faults = []
for _ in range(15):
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  program(x).block_until_ready()
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({'keeps': skinjax.KEEPS_FREED_MEMORY, 'faults': statistics.median(faults)}))
"""
PAGES = (256 << 20) // resource.getpagesize()

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='sets glibc malloc')


def probe(keep: str) -> dict:
  env = {
    'SKINJAX_KEEP_FREED_MEMORY': keep,
    'JAX_PLATFORMS': 'cpu',
    'XLA_FLAGS': '--xla_cpu_experimental_ynn_fusion_type=',
    'PATH': '',
  }
  result = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, env=env, check=True)
  return json.loads(result.stdout)


def test_a_later_run_reuses_the_first_runs_memory():
  seen = probe('1')
  assert seen['keeps'] is True
  assert seen['faults'] < PAGES // 10


def test_without_it_each_run_maps_its_temporary_memory_afresh():
  """The case the setting exists for: at each run every page of the 256 MB faults in again."""
  seen = probe('0')
  assert seen['keeps'] is False
  assert seen['faults'] >= PAGES // 2
