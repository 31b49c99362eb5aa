"""Procedural dermoscopy-like images of skin lesions (numpy and PIL only).

Each diagnosis has its own morphology, loosely after the dermoscopic criteria of the seven
HAM10000 classes: melanoma is asymmetric, with an irregular border, several colours and a
blue-white veil; naevi are round, even and reticular; basal cell carcinomas are pinkish with
arborising vessels and blue-grey nests; and so on. Colour distributions deliberately overlap
across classes (skin tone, pigment darkness, exposure and colour casts are drawn independently
of the class), so that global colour statistics are weak evidence and a model has to look at
shape and texture. Nuisances real images have are added on top: hairs, vignetting and the black
rim of a dermoscope, specular glare, ruler marks, sensor noise.
"""

import dataclasses

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tfds_builders import vocabulary

# HAM10000's diagnoses, in its alphabetical order, with its class frequencies (of 10,015).
DIAGNOSES = ('akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc')
HAM10000_COUNTS = (327, 514, 1099, 115, 1113, 6705, 142)
MALIGNANT = frozenset({'akiec', 'bcc', 'mel'})

SITES, SEXES = vocabulary.SITES, vocabulary.SEXES


@dataclasses.dataclass(frozen=True)
class Morphology:
  """How one diagnosis looks and whom it affects."""

  radius: tuple[float, float]  # Range of the lesion radius, in half image widths.
  asymmetry: float  # Amplitude of the low-order (k=1, 2) boundary harmonics.
  irregularity: float  # Amplitude of the high-order (k=3..14) boundary harmonics.
  softness: float  # Width of the border's fade, relative to the radius.
  num_colours: tuple[int, int]  # Range of the number of pigment patches.
  age: tuple[float, float]  # Mean and standard deviation of age in years.
  p_male: float
  sites: tuple[float, ...]  # Relative frequency of each of SITES.


MORPHOLOGY = {
  'akiec': Morphology((0.30, 0.55), 0.12, 0.05, 0.12, (1, 2), (67, 12), 0.62, (6, 2, 1, 1, 1, 0, 0, 0)),
  'bcc': Morphology((0.30, 0.55), 0.16, 0.06, 0.08, (1, 2), (66, 13), 0.60, (6, 1, 1, 2, 2, 0, 1, 0)),
  'bkl': Morphology((0.30, 0.60), 0.10, 0.03, 0.04, (1, 2), (59, 15), 0.55, (3, 2, 2, 3, 3, 0, 1, 0)),
  'df': Morphology((0.20, 0.40), 0.04, 0.02, 0.15, (1, 1), (48, 15), 0.45, (0, 2, 6, 1, 1, 0, 0, 0)),
  'mel': Morphology((0.32, 0.62), 0.30, 0.09, 0.05, (3, 5), (60, 16), 0.60, (2, 2, 3, 2, 5, 1, 1, 0)),
  'nv': Morphology((0.25, 0.58), 0.04, 0.015, 0.10, (1, 2), (45, 16), 0.50, (1, 2, 3, 4, 4, 0, 1, 0)),
  'vasc': Morphology((0.20, 0.42), 0.08, 0.03, 0.05, (1, 1), (50, 20), 0.45, (2, 2, 3, 3, 2, 0, 1, 0)),
}

_TAN = np.array([0.78, 0.58, 0.42])
_BROWN = np.array([0.42, 0.25, 0.15])
_BLACK = np.array([0.13, 0.09, 0.09])
_BLUE_GREY = np.array([0.48, 0.52, 0.62])
_PINK = np.array([0.90, 0.58, 0.58])
_RED = np.array([0.72, 0.16, 0.20])
_PURPLE = np.array([0.42, 0.18, 0.35])
_WHITE = np.array([0.95, 0.93, 0.90])


@dataclasses.dataclass(frozen=True)
class Metadata:
  age: int  # Years, rounded to 5 like HAM10000; -1 when unknown.
  sex: str  # One of SEXES or 'unknown'.
  site: str  # One of SITES or 'unknown'.


def sample_metadata(rng: np.random.Generator, dx: str) -> Metadata:
  """Age, sex and site that depend on the diagnosis but do not determine it."""
  m = MORPHOLOGY[dx]
  age = int(5 * round(np.clip(rng.normal(*m.age), 0, 85) / 5))
  sex = SEXES[int(rng.random() < m.p_male)]
  weights = np.asarray(m.sites, float) + 0.3  # Every site is possible for every diagnosis.
  site = SITES[rng.choice(len(SITES), p=weights / weights.sum())]
  # Metadata is missing now and then, as in the ISIC archive.
  return Metadata(
    age=-1 if rng.random() < 0.03 else age,
    sex='unknown' if rng.random() < 0.02 else sex,
    site='unknown' if rng.random() < 0.05 else site,
  )


def _smooth_field(rng, xx, yy, waves: int, freq: tuple[float, float]) -> np.ndarray:
  """A random smooth field in about [-1, 1]: a sum of plane waves."""
  field = np.zeros_like(xx)
  for _ in range(waves):
    angle, phase = rng.uniform(0, 2 * np.pi, 2)
    f = rng.uniform(*freq)
    field += np.sin(f * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
  return field / np.sqrt(waves / 2)


def _spots(rng, xx, yy, centres, radii) -> np.ndarray:
  """Soft-edged discs in [0, 1], one per centre."""
  out = np.zeros_like(xx)
  for (cx, cy), r in zip(centres, radii, strict=True):
    d2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / r**2
    out = np.maximum(out, np.exp(-(d2**2)))
  return out


def _strokes(size: int, lines, width: float, blur: float) -> np.ndarray:
  """Anti-aliased polylines (coordinates in [-1, 1]) as a coverage map in [0, 1]."""
  scale = 4  # Draw large, then shrink: cheap anti-aliasing.
  canvas = Image.new('L', (size * scale, size * scale), 0)
  draw = ImageDraw.Draw(canvas)
  w = max(1, round(width * size * scale / 128))
  for line in lines:
    points = [((x + 1) / 2 * size * scale, (y + 1) / 2 * size * scale) for x, y in line]
    draw.line(points, fill=255, width=w, joint='curve')
  canvas = canvas.resize((size, size), Image.BILINEAR)
  if blur:
    canvas = canvas.filter(ImageFilter.GaussianBlur(blur * size / 128))
  return np.asarray(canvas, np.float32) / 255


def _curve(rng, start, length: float, bend: float, n: int = 12):
  """A random smooth curve: a quadratic Bezier from `start`."""
  angle = rng.uniform(0, 2 * np.pi)
  p0 = np.asarray(start)
  p2 = p0 + length * np.array([np.cos(angle), np.sin(angle)])
  p1 = (p0 + p2) / 2 + bend * rng.normal(size=2)
  t = np.linspace(0, 1, n)[:, None]
  return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _branches(rng, centre, radius: float, depth: int = 3):
  """Arborising vessels: a tree of curves that thin and fork."""
  lines = []
  stack = [(np.asarray(centre) + rng.normal(0, radius / 3, 2), radius * 0.8, depth)]
  while stack:
    start, length, d = stack.pop()
    curve = _curve(rng, start, length, length / 3)
    lines.append(curve)
    if d > 1:
      for _ in range(2):
        stack.append((curve[rng.integers(4, len(curve))], length * 0.6, d - 1))
  return lines


def _blend(image, colour, alpha):
  return image * (1 - alpha[..., None]) + np.asarray(colour) * alpha[..., None]


def draw_lesion(rng: np.random.Generator, dx: str, size: int) -> np.ndarray:
  """Draws one dermoscopy-like image of diagnosis `dx` as uint8 [size, size, 3]."""
  m = MORPHOLOGY[dx]
  c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
  xx, yy = np.meshgrid(c, c)

  # Skin: a tone from fair to dark, a rosy cast and a faint texture.
  tone = rng.beta(2, 3)
  skin = (1 - tone) * np.array([0.94, 0.80, 0.72]) + tone * np.array([0.60, 0.42, 0.31])
  skin = skin * (1 + rng.normal(0, 0.03, 3))
  texture = 0.03 * _smooth_field(rng, xx, yy, 6, (3, 12))
  image = np.broadcast_to(skin, (size, size, 3)) * (1 + texture[..., None])

  # Shape: an ellipse whose boundary radius is perturbed by harmonics of the angle.
  radius = rng.uniform(*m.radius)
  cx, cy = rng.normal(0, 0.08, 2)
  rot, squash = rng.uniform(0, np.pi), rng.uniform(0.75, 1.0)
  u = (xx - cx) * np.cos(rot) + (yy - cy) * np.sin(rot)
  v = (-(xx - cx) * np.sin(rot) + (yy - cy) * np.cos(rot)) / squash
  rho, theta = np.hypot(u, v), np.arctan2(v, u)
  boundary = np.ones_like(theta)
  for k in range(1, 15):
    amp = m.asymmetry if k <= 2 else m.irregularity * (3 / k) ** 0.5
    boundary += amp * rng.uniform(0.4, 1.0) * np.cos(k * theta - rng.uniform(0, 2 * np.pi))
  if dx == 'mel':  # A second, eccentric lobe.
    lobe = rng.uniform(0, 2 * np.pi)
    boundary += 0.25 * np.exp(np.cos(theta - lobe) * 3 - 3)
  boundary = radius * np.maximum(boundary, 0.3)
  depth = (boundary - rho) / radius  # > 0 inside the lesion, in radii.
  mask = 1 / (1 + np.exp(-depth / (m.softness * rng.uniform(0.5, 1.5))))
  inner = np.clip(rho / boundary, 0, 1.5)

  # Pigment: a darkness in [0, 1] mapped through tan -> brown -> black.
  base = rng.uniform(0.25, 0.75)
  n_colours = rng.integers(m.num_colours[0], m.num_colours[1] + 1)
  if n_colours > 1:  # Patches of different darkness, blended by smooth random fields.
    levels = np.clip(base + rng.uniform(-0.45, 0.45, n_colours), 0, 1)
    logits = np.stack([4 * _smooth_field(rng, xx, yy, 3, (3, 8)) for _ in range(n_colours)])
    weights = np.exp(logits - logits.max(0))
    darkness = (levels[:, None, None] * weights).sum(0) / weights.sum(0)
  else:  # Even, with a darker centre of random strength.
    darkness = np.clip(base + rng.uniform(0.0, 0.35) * (0.5 - inner**2), 0, 1)
  lo = np.clip(2 * darkness, 0, 1)[..., None]
  hi = np.clip(2 * darkness - 1, 0, 1)[..., None]
  pigment = _TAN + lo * (_BROWN - _TAN) + hi * (_BLACK - _BROWN)

  inside = mask * (depth > -0.05)
  if dx in ('nv', 'df'):  # Regular pigment network.
    f = rng.uniform(18, 30)
    grid = (np.sin(f * u) * np.sin(f * v)) ** 2
    pigment = _blend(pigment, _BROWN * 0.8, rng.uniform(0.1, 0.35) * grid * inside)
  if dx == 'df':  # Central white scar-like patch.
    patch = np.exp(-((rho / (0.45 * boundary)) ** 4))
    pigment = _blend(pigment, _WHITE * 0.92, rng.uniform(0.5, 0.8) * patch)
  if dx == 'mel':
    # Blue-white veil over part of the lesion, and irregular dots near the edge.
    veil = np.clip(_smooth_field(rng, xx, yy, 2, (2, 5)) - 0.2, 0, 1) * inside
    pigment = _blend(pigment, _BLUE_GREY, rng.uniform(0.3, 0.8) * veil)
    angles = rng.uniform(0, 2 * np.pi, rng.integers(4, 14))
    dist = radius * rng.uniform(0.6, 1.05, len(angles))
    centres = np.stack([cx + dist * np.cos(angles), cy + dist * np.sin(angles)], -1)
    dots = _spots(rng, xx, yy, centres, rng.uniform(0.015, 0.04, len(angles)))
    pigment = _blend(pigment, _BLACK, dots)
  if dx == 'bkl':  # Milia-like cysts and a waxy, lighter surface.
    pigment = _blend(pigment, _TAN, 0.3 * np.ones_like(rho))
    n = rng.integers(3, 10)
    centres = np.array([cx, cy]) + radius * 0.7 * rng.uniform(-1, 1, (n, 2))
    cysts = _spots(rng, xx, yy, centres, rng.uniform(0.01, 0.025, n))
    pigment = _blend(pigment, _WHITE, 0.9 * cysts * inside)
  if dx in ('bcc', 'akiec'):  # Pink, translucent background.
    pigment = _blend(pigment, _PINK, rng.uniform(0.5, 0.8) * np.ones_like(rho))
  if dx == 'bcc':  # Arborising vessels and blue-grey ovoid nests.
    vessels = _strokes(size, _branches(rng, (cx, cy), radius), 1.2, 0.3)
    pigment = _blend(pigment, _RED, 0.9 * vessels * inside)
    n = rng.integers(1, 5)
    centres = np.array([cx, cy]) + radius * 0.6 * rng.uniform(-1, 1, (n, 2))
    nests = _spots(rng, xx, yy, centres, rng.uniform(0.03, 0.07, n))
    pigment = _blend(pigment, _BLUE_GREY * 0.8, nests * inside)
  if dx == 'akiec':  # Red pseudo-network with white scale.
    f = rng.uniform(20, 30)
    net = np.clip(np.sin(f * u + 2 * np.sin(3 * v)) * np.sin(f * v), 0, 1)
    pigment = _blend(pigment, _RED, 0.5 * net * inside)
    scale = np.clip(3 * (_smooth_field(rng, xx, yy, 4, (15, 30)) - 0.6), 0, 1)
    pigment = _blend(pigment, _WHITE, 0.8 * scale * inside)
  if dx == 'vasc':  # Red to purple lacunae.
    n = rng.integers(5, 15)
    centres = np.array([cx, cy]) + radius * 0.8 * rng.uniform(-1, 1, (n, 2))
    lacunae = _spots(rng, xx, yy, centres, rng.uniform(0.03, 0.07, n))
    colour = _RED + rng.uniform(0, 1) * (_PURPLE - _RED)
    pigment = _blend(pigment, colour, 0.35 + 0.6 * lacunae)

  image = _blend(image, np.zeros(3), mask) + pigment * mask[..., None]
  return _add_nuisances(rng, image, xx, yy, size)


def _add_nuisances(rng, image, xx, yy, size):
  """Hairs, ruler marks, glare, vignetting, the dermoscope's rim, exposure and noise."""
  if rng.random() < 0.4:  # Hairs.
    hairs = [_curve(rng, rng.uniform(-1.2, 1.2, 2), rng.uniform(0.5, 2.0), 0.3) for _ in range(rng.integers(1, 10))]
    colour = np.array([0.12, 0.08, 0.06]) * rng.uniform(0.5, 2.0)
    image = _blend(image, colour, 0.9 * _strokes(size, hairs, rng.uniform(0.6, 1.4), 0.0))
  if rng.random() < 0.15:  # A ruler along one edge: a line with ticks.
    y0 = rng.choice([-0.88, 0.88])
    ruler = [np.array([[-0.9, y0], [0.9, y0]])]
    ruler += [
      np.array([[x, y0], [x, y0 - np.sign(y0) * (0.08 if i % 5 == 0 else 0.04)]])
      for i, x in enumerate(np.arange(-0.9, 0.9, 0.06))
    ]
    image = _blend(image, np.array([0.1, 0.1, 0.1]) if rng.random() < 0.7 else _WHITE, _strokes(size, ruler, 0.8, 0.0))
  if rng.random() < 0.3:  # Specular glare.
    n = rng.integers(1, 4)
    glare = _spots(rng, xx, yy, rng.uniform(-0.6, 0.6, (n, 2)), rng.uniform(0.02, 0.06, n))
    image = _blend(image, np.ones(3), 0.85 * glare)
  r2 = xx**2 + yy**2
  image = image * (1 - rng.uniform(0, 0.3) * r2)[..., None]  # Vignetting.
  if rng.random() < 0.25:  # The black rim of a contact dermoscope.
    rim = 1 / (1 + np.exp(-(np.sqrt(r2) - rng.uniform(0.95, 1.25)) * 40))
    image = image * (1 - rim)[..., None]
  image = image * rng.uniform(0.85, 1.12) * (1 + rng.normal(0, 0.03, 3))  # Exposure, cast.
  image = image + rng.normal(0, rng.uniform(0.005, 0.02), image.shape)
  return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
