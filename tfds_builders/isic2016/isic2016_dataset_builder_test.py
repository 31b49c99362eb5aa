"""isic2016 from the real ISBI 2016 ground-truth CSVs, with stand-in images; and the
`tfds build` command without Apache Beam."""

import collections
import subprocess
import sys

import pytest

from tfds_builders import common, isic2016, testing
from tfds_builders.isic2016.isic2016_dataset_builder import PARTS

pytestmark = testing.needs_shared


def manual(tmp_path):
  for folder, truth in PARTS.values():
    testing.copy(truth, tmp_path / 'manual')
    testing.stand_ins(tmp_path / 'manual' / folder, testing.ids(testing.CSV / truth, header=False))
  return tmp_path / 'manual'


def test_builds_both_parts_as_released(tmp_path):
  builder = testing.build(isic2016, manual(tmp_path), tmp_path / 'tfds')
  counts = {s: collections.Counter(testing.column(builder, s, 'label')) for s in ('train', 'test')}
  assert counts == {'train': {'benign': 727, 'malignant': 173}, 'test': {'benign': 304, 'malignant': 75}}
  assert set(testing.column(builder, 'test', 'site')) == {'unknown'}  # ISBI 2016 has no metadata.
  assert common.skipped(builder) == []


def test_an_unknown_label_is_named_or_skipped_and_listed(tmp_path):
  m = manual(tmp_path)
  truth = m / PARTS['test'][1]
  testing.replace_line(truth, 4, truth.read_text().splitlines()[4].split(',')[0] + ',maybe')
  with pytest.raises(common.BadInput, match=r"Test_GroundTruth.csv, row 5 \(ISIC_\d+\): label 'maybe'"):
    testing.build(isic2016, m, tmp_path / 'a')
  builder = testing.build(isic2016, m, tmp_path / 'b', skip_bad=True)
  assert builder.info.splits['test'].num_examples == 378
  assert len(common.skipped(builder)) == 1 and 'row 5' in common.skipped(builder)[0]


def test_tfds_build_command_works_without_beam(tmp_path):
  m = manual(tmp_path)
  command = [sys.executable, '-m', 'tfds_builders.build', 'tfds_builders/isic2016', f'--manual_dir={m}']
  command += ['--file_format=array_record', f'--data_dir={tmp_path / "tfds"}']
  subprocess.run(command, check=True, capture_output=True, cwd=testing.pathlib.Path(__file__).parents[2])
  assert (tmp_path / 'tfds' / 'isic2016' / 'official' / '1.0.0' / 'isic2016-test.array_record-00000-of-00001').exists()
