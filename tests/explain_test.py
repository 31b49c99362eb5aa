"""skinjax.explain: integrated gradients' completeness, Adebayo et al.'s weight-randomisation
check, Grad-CAM on networks of each family, and the command line."""

import numpy as np
import pytest
import scipy.stats
from conftest import run_module
from flax import nnx
from PIL import Image

from skinjax import evaluate, explain, input_pipeline, models


@pytest.fixture(scope='module')
def run(trained_run):
  return evaluate.load_run(trained_run, 'last')


@pytest.fixture(scope='module')
def lesion(run) -> tuple[np.ndarray, np.ndarray]:
  """A test image of the synthetic set and its encoded metadata."""
  source = input_pipeline.get_builder(run.config.dataset).as_data_source(split='test')
  example = source[0]
  return example['image'], input_pipeline.encode_metadata(example, run.info.features)


def test_integrated_gradients_sum_to_the_logit_difference(run, lesion):
  image, metadata = lesion
  model = run.model()
  # This barely trained network's attributions cancel out: their absolute sum (1.9) is ~45x the
  # logit difference (0.04), and its ReLUs make the midpoint rule converge slowly (seen: 2.3%,
  # 1.3% and 0.2% off at 256, 2048 and 8192 steps). So the gap is measured against the absolute
  # sum, as Captum's convergence delta is: 0.03% at 2048 steps; a wrong scale or sign is >= 2%.
  attributions = explain.integrated_gradients(model, image, metadata, target=1, fused=True, steps=2048)
  both = np.stack([image, np.zeros_like(image)]).astype(np.float32)
  logits = np.asarray(models.logits(model, both, np.stack([metadata] * 2), fused=True))[:, 1]
  assert abs(attributions.sum() - (logits[0] - logits[1])) < 1e-3 * np.abs(attributions).sum()


def test_maps_change_when_the_weights_are_randomised(run):
  """Adebayo et al. (2018): a map that survives re-initialising the network explains nothing.
  Mean rank correlation of the trained and a random network's maps over four test images, at
  128 px so that the last feature map has room for Grad-CAM (it is 1x1 at 32 px)."""
  trained = run.model()
  random = models.build(
    run.config.model.name,
    num_classes=2,
    metadata_features=len(input_pipeline.unknown_metadata(run.info.features)),
    fusion='early',
    rngs=nnx.Rngs(params=123, dropout=124),
  )
  random.eval()
  source = input_pipeline.get_builder(run.config.dataset).as_data_source(split='test')
  ig, cam = [], []
  for example in (source[i] for i in range(4)):
    image = input_pipeline.resize(example['image'], 128, 'crop')
    metadata = input_pipeline.encode_metadata(example, run.info.features)
    maps = [
      (
        explain.attribution_map(explain.integrated_gradients(m, image, metadata, 1, True, steps=32)),
        explain.grad_cam(m, image, metadata, 1, True),
      )
      for m in (trained, random)
    ]
    ig.append(scipy.stats.spearmanr(maps[0][0].ravel(), maps[1][0].ravel()).statistic)
    cam.append(scipy.stats.spearmanr(maps[0][1].ravel(), maps[1][1].ravel()).statistic)
  # Integrated gradients scale gradients by the input, so part of the image survives in any
  # network's map (as Adebayo et al. found): the check is that they change, not that nothing remains.
  print(f'rank correlations, integrated gradients: {np.round(ig, 2)}; Grad-CAM: {np.round(cam, 2)}')
  assert np.mean(ig) < 0.8
  assert np.mean(cam) < 0.5


@pytest.mark.parametrize('name', ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'densenet121'])
def test_grad_cam_on_each_family(name):
  model = models.build(name, num_classes=3, rngs=nnx.Rngs(0))
  image = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
  cam = explain.grad_cam(model, image, np.zeros(0, np.float32), target=2, fused=False)
  assert cam.shape == (64, 64) and cam.min() >= 0
  assert cam.max() == pytest.approx(1.0) or cam.max() == 0  # Scaled to 1, or nothing speaks for class 2.
  model.eval()
  logits = models.logits(model, image[None].astype(np.float32), None, fused=False)
  np.testing.assert_allclose(logits, model(image[None]), rtol=1e-5, atol=1e-5)


def test_command_line_explains_images_and_names_unreadable_ones(run, lesion, tmp_path):
  Image.fromarray(lesion[0]).save(tmp_path / 'lesion.png')
  (tmp_path / 'notes.jpg').write_text('not an image')
  result = run_module(
    'skinjax.explain',
    f'--workdir={run.run_dir}',
    '--checkpoint=last',
    '--steps=32',
    '--age=60',
    '--sex=female',
    str(tmp_path / 'notes.jpg'),
    str(tmp_path / 'lesion.png'),
  )
  assert result.returncode == 1
  assert f'{tmp_path}/notes.jpg: not a readable image' in result.stderr
  assert '1 of 2 files could not be read' in result.stderr
  picture = Image.open(run.run_dir / 'explain' / 'lesion.png')
  assert picture.size == (900, 340)
