"""Every config file: its full setup is valid, and its `:demo` variant trains (tiny)."""

import json

import pytest
from conftest import ROOT, load_config, tiny_config

from skinjax import losses, models, train

CONFIGS = sorted(p.stem for p in (ROOT / 'configs').glob('*.py'))


def test_every_paper_has_a_config():
  assert CONFIGS == ['ham10000_resnet50', 'isic2017_mobile', 'merged_capped', 'scab', 'transfer_meta']


@pytest.mark.parametrize('name', CONFIGS)
def test_full_config_names_real_parts(name):
  config = load_config('', name)
  assert config.model.name in models.names(), config.model.name
  losses.check(config.loss)
  module = __import__(f'tfds_builders.{config.dataset.name.split("/")[0]}', fromlist=['Builder'])
  builder_configs = [c.name for c in getattr(module.Builder, 'BUILDER_CONFIGS', [])]
  if '/' in config.dataset.name:
    assert config.dataset.name.split('/')[1] in builder_configs
  for stage in config.stages:
    assert all(key.split('.')[0] in config for key in stage), stage


@pytest.mark.parametrize('name', CONFIGS)
def test_demo_trains(name, tmp_path_factory):
  data_dir = tmp_path_factory.getbasetemp() / 'configs_tfds'  # Shared: one build per label set.
  workdir = tmp_path_factory.mktemp(name)
  results = train.train_and_evaluate(tiny_config(data_dir, name), workdir)
  assert 0 <= results['test']['auroc' if 'auroc' in results['test'] else 'auroc/macro'] <= 1
  assert json.loads((workdir / 'metrics.json').read_text())['test'] == train.jsonable(results['test'])
