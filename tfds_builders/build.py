r"""TFDS's `tfds build` command, runnable without Apache Beam.

tensorflow-datasets 4.9.10's `tfds` entry point imports its Beam-based `convert_format` command
at start-up, so `tfds build` stops with "No module named 'apache_beam'" unless Beam is
installed (tensorflow/datasets#5463, open upstream; skinjax does not need Beam, and current Beam releases
do not resolve beside requirements.lock). This runs the same `build` command, with the same flags:

  python -m tfds_builders.build tfds_builders/isic2017 --manual_dir=~/isic2017 \
      --file_format=array_record [--data_dir=...] [--config=...]

Where Apache Beam is installed, `tfds build` itself takes the same arguments.
"""

from absl import app
from tensorflow_datasets.scripts.cli import build, cli_utils


def main(args: build.Args) -> None:
  args.execute()


if __name__ == '__main__':
  app.run(main, flags_parser=cli_utils.make_flags_parser(build.Args, description=__doc__))
