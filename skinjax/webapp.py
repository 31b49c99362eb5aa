r"""A web demo of a trained run (Gradio), for showing what the network does:

  python -m skinjax.webapp --workdir=DIR [--port=7860] [--examples=FOLDER]

Upload a dermoscopy image (or pick an example) and optionally age, sex and site; the page shows
the three most probable classes as a donut chart and in words, and the Grad-CAM map of the top
class over the image. It is not a medical device, and says so above everything else. Uploads
are limited in bytes (`--max_upload`) and in pixels (`tfds_builders.common.MAX_PIXELS`, against
decompression bombs); a file that is not an image gets a message; requests from several users
are served together (`--concurrency`).
"""

import threading

from absl import app, flags
from etils import epath
from matplotlib.figure import Figure

from skinjax import explain, plots, predict

NOTICE = (
  '## Research demonstration only: not a medical device\n'
  'This page is **not for diagnosis, screening or any decision about a patient**. It shows what a '
  'network trained on public dermoscopy images outputs, nothing more. If a skin lesion worries you, '
  'see a doctor.'
)
EXAMPLE_SUFFIXES = ('.jpg', '.jpeg', '.png')
# Requests run in threads; nnx's transforms update the shared network object while they trace,
# so one request at a time uses it (each takes milliseconds once compiled).
_NETWORK = threading.Lock()


def donut(top: list[tuple[str, float]]) -> Figure:
  """The top classes and the rest as a donut chart."""
  labels = [c for c, _ in top] + ['other']
  values = [p for _, p in top] + [max(0.0, 1 - sum(p for _, p in top))]
  fig = Figure(figsize=(4, 4))
  ax = fig.subplots()
  ax.pie(values, labels=[f'{c}\n{v:.1%}' for c, v in zip(labels, values, strict=True)], wedgeprops={'width': 0.4})
  ax.set_title('Top classes')
  return fig


def classify(predictor: predict.Predictor, path: str | None, age: str | None, sex: str, site: str):
  """(result text, donut chart pixels, Grad-CAM overlay pixels) for an uploaded file, or
  ValueError with a message for the user."""
  if not path:
    raise ValueError('Upload an image first (JPEG or PNG of a skin lesion).')
  try:
    years = None if age is None or not str(age).strip() else int(str(age).strip())
  except ValueError:
    raise ValueError(f'age {age!r}: expected years as a number, or nothing.') from None
  metadata = predictor.metadata(years, None if sex == 'unknown' else sex, None if site == 'unknown' else site)
  image = predictor.image(path)  # ValueError for files that are not images, or too large ones.
  with _NETWORK:
    probs = predictor.probabilities(image[None], metadata[None])[0]
    top = predictor.top(probs, 3)
    cam = explain.grad_cam(predictor.model, image, metadata, predictor.class_names.index(top[0][0]), predictor.fused)
  text = '\n'.join(f'{i}. **{c}** {p:.1%}' for i, (c, p) in enumerate(top, 1))
  return text, plots.pixels(donut(top)), explain.overlay(image, cam)


def build(predictor: predict.Predictor, examples: list[str], concurrency: int = 4):
  """The Gradio app (not launched)."""
  import gradio as gr  # Optional: `pip install 'skinjax[web]'`.

  sexes = list(predictor.features['sex'].names)
  sites = list(predictor.features['site'].names)

  def run(path, age, sex, site):
    try:
      return classify(predictor, path, age, sex, site)
    except ValueError as e:
      raise gr.Error(str(e).replace(str(path), epath.Path(path).name) if path else str(e)) from None

  with gr.Blocks(title='skinjax demo') as demo:
    gr.Markdown(NOTICE, elem_id='notice')
    with gr.Row():
      image = gr.Image(type='filepath', format='png', label='Dermoscopy image', sources=['upload'], elem_id='image')
      with gr.Column():
        age = gr.Textbox(label='Age in years (optional)', placeholder='unknown')
        sex = gr.Dropdown(sexes, value='unknown', label='Sex')
        site = gr.Dropdown(sites, value='unknown', label='Anatomical site')
        button = gr.Button('Classify', variant='primary', elem_id='classify')
    result = gr.Markdown(elem_id='result')
    with gr.Row():
      chart = gr.Image(label='Top 3', elem_id='chart')
      cam = gr.Image(label='Grad-CAM of the top class', elem_id='cam')
    if examples:
      gr.Examples(examples, inputs=[image], elem_id='examples')
    button.click(run, [image, age, sex, site], [result, chart, cam], concurrency_limit=concurrency)
  return demo


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  f = flags.FLAGS
  predictor = predict.Predictor(f.workdir, f.checkpoint)
  examples = []
  if f.examples:
    examples = sorted(str(p) for p in epath.Path(f.examples).iterdir() if p.suffix.lower() in EXAMPLE_SUFFIXES)
  demo = build(predictor, examples, f.concurrency)
  demo.queue(default_concurrency_limit=f.concurrency).launch(
    server_name=f.host, server_port=f.port, max_file_size=f.max_upload, show_error=True
  )


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'The trained run.', required=True)
  flags.DEFINE_string('checkpoint', 'best', "'best', 'last' or a step, as for skinjax.evaluate.")
  flags.DEFINE_string('examples', None, 'A folder of example images to offer.')
  flags.DEFINE_string('host', '127.0.0.1', "Address to serve on ('0.0.0.0' for other machines).")
  flags.DEFINE_integer('port', 7860, 'Port to serve on.')
  flags.DEFINE_string('max_upload', '10mb', 'Largest upload.')
  flags.DEFINE_integer('concurrency', 4, 'Requests served at once.')
  app.run(main)
