r"""Where a trained network looks: integrated gradients (Sundararajan et al. 2017, with seed 001's
black baseline) and Grad-CAM (Selvaraju et al. 2017) for any registered network and head.

  python -m skinjax.explain --workdir=DIR IMAGE... [--steps=128] [--target=CLASS] [--age=55 --sex=female]

Each image is prepared as `skinjax.predict` prepares it. For each, `DIR/explain/<name>.png` shows
the input, the integrated-gradient attributions and the Grad-CAM map over it, for the predicted
class or `--target`; the same pictures go to TensorBoard under `explain/`. A file that cannot be
read is reported by name and the others still explained.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from clu import metric_writers
from etils import epath
from flax import nnx
from matplotlib import colormaps
from matplotlib.figure import Figure

from skinjax import models, plots, predict


def integrated_gradients(
  model: nnx.Module, image: np.ndarray, metadata: np.ndarray, target: int, fused: bool, steps: int = 128
) -> np.ndarray:
  """Attributions [H, W, 3] of `target`'s logit to each input value along the straight path from
  a black image (midpoint rule); they sum to logit(image) - logit(black) as `steps` grows."""
  model.eval()
  image = np.asarray(image, np.float32)
  alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
  grads = np.zeros_like(image)
  for start in range(0, steps, IG_BATCH):
    chunk = np.resize(alphas[start : start + IG_BATCH], IG_BATCH)  # A fixed shape: one compilation.
    n = min(IG_BATCH, steps - start)
    grads += np.asarray(_path_gradients(model, image, metadata, chunk, target, fused))[:n].sum(0)
  return image * grads / steps


IG_BATCH = 32  # Path points per gradient evaluation.


@functools.partial(nnx.jit, static_argnums=(4, 5))
def _path_gradients(model, image, metadata, alphas, target, fused):
  def target_logit(points):
    return models.logits(model, points, jnp.broadcast_to(metadata, (len(points), *metadata.shape)), fused)[
      :, target
    ].sum()

  return jax.grad(target_logit)(alphas[:, None, None, None] * image)


def grad_cam(model: nnx.Module, image: np.ndarray, metadata: np.ndarray, target: int, fused: bool) -> np.ndarray:
  """The Grad-CAM map [H, W] in [0, 1]: the last feature map weighted by the mean gradient of
  `target`'s logit over each channel, rectified and scaled up to the image."""
  model.eval()
  return np.asarray(_grad_cam(model, np.asarray(image, np.float32), metadata, target, fused))


@functools.partial(nnx.jit, static_argnums=(3, 4))
def _grad_cam(model, image, metadata, target, fused):
  fmap = model.feature_map(image[None])

  def target_logit(a):
    return models.classify(model, a, metadata[None], fused)[0, target]

  weights = jnp.mean(jax.grad(target_logit)(fmap), axis=(1, 2))
  cam = jax.nn.relu(jnp.sum(fmap * weights[:, None, None, :], axis=-1))[0]
  cam = jax.image.resize(cam, image.shape[:2], 'bilinear')
  return cam / jnp.maximum(cam.max(), 1e-12)


def attribution_map(attributions: np.ndarray) -> np.ndarray:
  """|attributions| summed over channels, scaled to [0, 1] at their 99th percentile."""
  magnitude = np.abs(attributions).sum(-1)
  return np.clip(magnitude / max(np.percentile(magnitude, 99), 1e-12), 0, 1)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5) -> np.ndarray:
  """`heatmap` in [0, 1] coloured and blended over the uint8 `image`."""
  colours = colormaps['jet'](heatmap)[..., :3] * 255
  return ((1 - alpha) * image + alpha * colours).astype(np.uint8)


def figure(image: np.ndarray, ig: np.ndarray, cam: np.ndarray, title: str) -> Figure:
  fig = Figure(figsize=(9, 3.4), layout='constrained')
  panels = (('input', image), ('integrated gradients', overlay(image, ig)), ('Grad-CAM', overlay(image, cam)))
  for ax, (name, pixels) in zip(fig.subplots(1, 3), panels, strict=True):
    ax.imshow(pixels)
    ax.set_title(name)
    ax.axis('off')
  fig.suptitle(title)
  return fig


def main(argv):
  f = flags.FLAGS
  predictor = predict.Predictor(f.workdir, f.checkpoint)
  names, model, fused = predictor.class_names, predictor.model, predictor.fused
  if f.target is not None and f.target not in names:
    raise app.UsageError(f'--target={f.target!r}; expected one of {names}.')
  metadata = predict.metadata_from_flags(predictor, f)
  run = predictor.run
  out = run.run_dir / 'explain'
  out.mkdir(exist_ok=True)
  writer = metric_writers.create_default_writer(run.run_dir, just_logging=jax.process_index() > 0)
  failed = []
  for path, image in predict.readable_images(predictor, argv[1:], failed):
    probs = predictor.probabilities(image[None], metadata[None])[0]
    target = names.index(f.target) if f.target else int(probs.argmax())
    attributions = integrated_gradients(model, image, metadata, target, fused, f.steps)
    cam = grad_cam(model, image, metadata, target, fused)
    title = f'{epath.Path(path).name}: {names[target]} (p = {probs[target]:.3f})'
    name = epath.Path(path).stem
    pixels = plots.save(figure(image, attribution_map(attributions), cam, title), out / f'{name}.png')
    writer.write_images(run.step, {f'explain/{name}': pixels[None]})
    both = np.stack([image, np.zeros_like(image)]).astype(np.float32)
    scores = models.logits(model, both, np.stack([metadata] * 2), fused)
    difference = float(scores[0, target] - scores[1, target])
    error = abs(attributions.sum() - difference) / max(abs(difference), 1e-12)
    print(f'{path}: {names[target]} {probs[target]:.3f} -> {out / name}.png')
    print(f'  integrated gradients sum to the logit difference from black within {error:.1%}', end='')
    print(' (more --steps would bring them closer)' if error > 0.05 else '')
  writer.close()
  predict.exit_if_failed(failed, len(argv) - 1)


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The trained run.', required=True)
  flags.DEFINE_string('checkpoint', 'best', "'best', 'last' or a step, as for skinjax.evaluate.")
  flags.DEFINE_string('target', None, 'The class to explain; default the predicted one.')
  flags.DEFINE_integer('steps', 128, 'Integrated gradients: steps along the path from the black baseline.')
  flags.DEFINE_integer('age', None, 'Age in years, for networks that fuse metadata.')
  flags.DEFINE_string('sex', None, "'male' or 'female'.")
  flags.DEFINE_string('site', None, "Anatomical site, on the ISIC archive's vocabulary ('anterior torso', ...).")
  app.run(main)
