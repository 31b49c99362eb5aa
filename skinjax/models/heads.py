"""New classifier heads on any registered backbone: hidden dense layers, and fusion of the image
features with encoded metadata (age, sex, site) as in Kim & Rocheteau (2020) and the SIIM-ISIC
2020 winners.

- 'early' fusion: the image features and a small metadata network's features are concatenated
  and classified together, through the hidden layers if any.
- 'late' fusion: the image branch and the metadata branch each give logits; they are summed.

Missing metadata needs nothing special: the encoding has a missing indicator for age and an
unknown slot for sex and site (`input_pipeline.encode_metadata`), and
`dataset.metadata_dropout` trains with whole records hidden, so the network also serves people
whose metadata is unknown.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from skinjax.models.layers import Classifier

FUSIONS = ('none', 'early', 'late')


class MLP(nnx.Module):
  """Dense layers, each followed by batch norm and ReLU."""

  def __init__(self, in_features: int, widths: tuple[int, ...], *, rngs: nnx.Rngs):
    layers = []
    for width in widths:
      layers += [nnx.Linear(in_features, width, rngs=rngs), nnx.BatchNorm(width, momentum=0.9, rngs=rngs), nnx.relu]
      in_features = width
    self.layers = nnx.Sequential(*layers) if layers else None
    self.out_features = in_features

  def __call__(self, x: jax.Array) -> jax.Array:
    return x if self.layers is None else self.layers(x)


class Headed(nnx.Module):
  """`backbone`'s pooled features, classified by a new head (its own head is removed)."""

  def __init__(
    self,
    backbone: Classifier,
    *,
    num_classes: int,
    hidden: tuple[int, ...] = (),
    fusion: str = 'none',
    metadata_features: int = 0,
    metadata_hidden: tuple[int, ...] = (64, 64),
    rngs: nnx.Rngs,
  ):
    if fusion not in FUSIONS:
      raise ValueError(f'model.fusion must be one of {FUSIONS}, got {fusion!r}.')
    if fusion != 'none' and not metadata_features:
      raise ValueError(f'model.fusion={fusion!r} needs metadata features; the data set has none.')
    image_features = backbone.head.in_features
    del backbone.head
    self.backbone, self.fusion = backbone, fusion
    self.metadata = MLP(metadata_features, metadata_hidden, rngs=rngs) if fusion != 'none' else None
    joint = image_features + (self.metadata.out_features if fusion == 'early' else 0)
    self.hidden = MLP(joint, tuple(hidden), rngs=rngs)
    self.head = nnx.Linear(self.hidden.out_features, num_classes, rngs=rngs)
    if fusion == 'late':
      self.metadata_head = nnx.Linear(self.metadata.out_features, num_classes, rngs=rngs)

  def __call__(self, images: jax.Array, metadata: jax.Array | None = None) -> jax.Array:
    return self.classify(self.feature_map(images), metadata)

  def feature_map(self, images: jax.Array) -> jax.Array:
    return self.backbone.feature_map(images)

  def classify(self, feature_map: jax.Array, metadata: jax.Array | None = None) -> jax.Array:
    """Logits from the backbone's feature map (and the metadata, when fused)."""
    x = self.backbone.dropout(self.backbone.pool(feature_map))
    if self.fusion == 'none':
      return self.head(self.hidden(x))
    if metadata is None:
      raise ValueError(f'This network fuses metadata ({self.fusion} fusion); call it with images and metadata.')
    m = self.metadata(metadata.astype(x.dtype))
    if self.fusion == 'early':
      return self.head(self.hidden(jnp.concatenate([x, m], axis=-1)))
    return self.head(self.hidden(x)) + self.metadata_head(m)


def classify(model: nnx.Module, feature_map: jax.Array, metadata: jax.Array | None, fused: bool) -> jax.Array:
  """`model`'s logits from its feature map, with the metadata where the network fuses it."""
  return model.classify(feature_map, metadata) if fused else model.classify(feature_map)


def logits(model: nnx.Module, images: jax.Array, metadata: jax.Array | None, fused: bool) -> jax.Array:
  """`model`'s logits for images [N, H, W, 3] (and metadata [N, M] where it fuses them)."""
  return classify(model, model.feature_map(images), metadata, fused)


def _backbone(model: nnx.Module) -> tuple[nnx.Module, tuple[str, ...]]:
  """The backbone and its path in `model`."""
  return (model.backbone, ('backbone',)) if isinstance(model, Headed) else (model, ())


def _within(path: tuple[str, ...], prefixes: list[tuple[str, ...]]) -> bool:
  return any(path[: len(p)] == p for p in prefixes)


def frozen_modules(model: nnx.Module, trainable: tuple[str, ...] = ()) -> list[nnx.Module]:
  """The largest modules a frozen backbone holds fixed: all of the backbone but its head, the
  dropout before it and the `trainable` modules (paths in the backbone such as 'blocks/layers/7')."""
  root, _ = _backbone(model)
  keep = [tuple(t.split('/')) for t in trainable]
  out = []

  def visit(module, path):
    for name, child in nnx.iter_children(module):
      here = (*path, str(name))
      if here in (('head',), ('dropout',)) or _within(here, keep):
        continue
      if any(k[: len(here)] == here for k in keep):  # An ancestor of a trainable module.
        visit(child, here)
      else:
        out.append(child)

  visit(root, ())
  return out


def is_frozen(model: nnx.Module, path: tuple[str, ...], trainable: tuple[str, ...] = ()) -> bool:
  """Whether the parameter at `path` (of `nnx.state(model)`) belongs to `frozen_modules`."""
  root, prefix = _backbone(model)
  if path[: len(prefix)] != prefix:
    return False
  inner = path[len(prefix) :]
  return inner[0] not in ('head', 'dropout') and not _within(inner, [tuple(t.split('/')) for t in trainable])
