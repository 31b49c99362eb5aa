"""skinjax: skin-lesion classification from dermoscopy images in JAX and Flax."""
