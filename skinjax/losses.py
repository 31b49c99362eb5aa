"""Training losses on logits, each with class weights and label smoothing (`config.loss`).

- 'softmax': cross-entropy of the softmax over classes.
- 'sigmoid': binary cross-entropy of an independent sigmoid per class (one-vs-rest, as the
  SIIM-ISIC 2020 solutions trained), summed over classes; predictions are the sigmoids.
- 'focal': softmax focal loss (Lin et al., ICCV 2017), cross-entropy scaled by (1 - p)^gamma,
  which shrinks the loss of examples already classified well.
"""

import jax
import jax.numpy as jnp
import ml_collections
import optax

NAMES = ('softmax', 'sigmoid', 'focal')


def check(config: ml_collections.ConfigDict) -> None:
  if config.name not in NAMES:
    raise ValueError(f'loss.name must be one of {NAMES}, got {config.name!r}.')
  if not 0 <= config.label_smoothing < 1:
    raise ValueError(f'loss.label_smoothing must be in [0, 1), got {config.label_smoothing}.')


def loss(logits: jax.Array, labels: jax.Array, config: ml_collections.ConfigDict, class_weights: jax.Array):
  """Mean over the batch of the per-example loss times `class_weights[label]`."""
  num_classes = logits.shape[-1]
  onehot = jax.nn.one_hot(labels, num_classes)
  targets = optax.smooth_labels(onehot, config.label_smoothing)
  logits = logits.astype(jnp.float32)
  if config.name == 'sigmoid':
    losses = optax.sigmoid_binary_cross_entropy(logits, targets).sum(-1)
  else:
    log_p = jax.nn.log_softmax(logits)
    focus = (1 - jnp.exp(log_p)) ** config.focal_gamma if config.name == 'focal' else 1.0
    losses = -jnp.sum(targets * focus * log_p, axis=-1)
  weights = onehot @ class_weights  # Not class_weights[labels]: a gather trips the mesh.
  return jnp.mean(losses * weights)


def probabilities(logits: jax.Array, config: ml_collections.ConfigDict) -> jax.Array:
  """What the network predicts per class: sigmoids for the sigmoid loss, else the softmax."""
  logits = logits.astype(jnp.float32)
  return jax.nn.sigmoid(logits) if config.name == 'sigmoid' else jax.nn.softmax(logits)
