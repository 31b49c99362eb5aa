"""skinjax: skin-lesion classification from dermoscopy images in JAX and Flax."""

from skinjax import host_memory

# Before JAX starts its backend: XLA's CPU programs then reuse their temporary memory, not map it
# afresh at every step (host_memory).
KEEPS_FREED_MEMORY = host_memory.keep_freed_memory()
