"""Freed host memory kept for reuse: the page faults of XLA's CPU programs.

Each run of a compiled XLA:CPU program takes its temporary buffers as one block, freed when it
ends: 2.7 GB for MobileNetV2's training step at 224x224, batch 32. glibc's malloc serves a block
that large with a fresh `mmap` and gives it back with `munmap`, so at every step the kernel maps
and zeroes it again, a page at a time: on 2 CPU cores, 2.4 million page faults and 6.5 of the
18 CPU-seconds of 10 Cancer-Net SCa-C steps were the kernel's.

JAX runs a CPU program on a thread of its own by default (asynchronous dispatch), and a thread
other than the main one allocates from an arena that maps any block over 64 MB whatever malloc's
settings. So on CPU skinjax runs programs on the thread that calls them, whose (main) arena can
serve any block from the heap, and tells malloc never to map a block apart and never to give the
heap's free top back: from the second step on, the block is the one freed by the step before
(now and then a run still maps a fresh one; tests/host_memory_test.py counts how seldom).
(A single arena for all threads would do it too, but their contention for it cost more than the
page faults saved.) Asynchronous dispatch is read when JAX starts its backend, so this must run
before: importing skinjax does it. Set SKINJAX_KEEP_FREED_MEMORY=0 to leave both as they are.
"""

import ctypes
import os
import platform

import jax

# mallopt's parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_freed_memory() -> bool:
  """Runs JAX's CPU programs on the calling thread and sets glibc's malloc to map no block apart
  and never trim the heap (-1); True where it did so (Linux with glibc, unless
  SKINJAX_KEEP_FREED_MEMORY=0)."""
  if os.environ.get('SKINJAX_KEEP_FREED_MEMORY', '1') == '0' or platform.libc_ver()[0] != 'glibc':
    return False
  mallopt = ctypes.CDLL(None).mallopt
  if not all(mallopt(option, value) == 1 for option, value in ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, -1))):
    return False
  jax.config.update('jax_cpu_enable_async_dispatch', False)
  return True
