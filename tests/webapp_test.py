"""skinjax.webapp in a real browser (Debian's headless Chromium, which `make test` installs)."""

import concurrent.futures
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from conftest import ROOT, SHARED
from PIL import Image

from skinjax import input_pipeline, predict, webapp

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')


@pytest.fixture(scope='module')
def predictor(trained_run):
  return predict.Predictor(trained_run)


@pytest.fixture(scope='module')
def lesion(predictor, tmp_path_factory) -> str:
  """A real HAM10000 image where ../shared is present, else a synthetic test lesion."""
  files = sorted((SHARED / 'data' / 'isic2018_task3_subset').rglob('*.jpg'))
  if files:
    return str(files[0])
  path = tmp_path_factory.mktemp('lesion') / 'lesion.png'
  source = input_pipeline.get_builder(predictor.run.config.dataset).as_data_source(split='test')
  Image.fromarray(source[0]['image']).save(path)
  return str(path)


def test_classify_explains_what_is_wrong(predictor, tmp_path):
  (tmp_path / 'notes.png').write_text('not an image')
  with pytest.raises(ValueError, match='notes.png: not a readable image'):
    webapp.classify(predictor, str(tmp_path / 'notes.png'), None, 'unknown', 'unknown')
  with pytest.raises(ValueError, match="age 'sixty': expected years as a number, or nothing"):
    webapp.classify(predictor, str(tmp_path / 'notes.png'), 'sixty', 'unknown', 'unknown')
  with pytest.raises(ValueError, match='Upload an image first'):
    webapp.classify(predictor, None, None, 'unknown', 'unknown')


@pytest.fixture(scope='module')
def server(trained_run, lesion, tmp_path_factory):
  examples = tmp_path_factory.mktemp('examples')
  Image.open(lesion).save(examples / 'example.png')
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  process = subprocess.Popen(
    [
      sys.executable,
      '-m',
      'skinjax.webapp',
      f'--workdir={trained_run}',
      f'--port={port}',
      '--max_upload=1mb',
      f'--examples={examples}',
    ],
    cwd=ROOT,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )
  url = f'http://127.0.0.1:{port}/'
  deadline = time.time() + 180
  while time.time() < deadline:
    try:
      urllib.request.urlopen(url, timeout=2)
      break
    except OSError:
      if process.poll() is not None:
        pytest.fail(f'the web app exited: {process.stdout.read()[-3000:]}')
      time.sleep(1)
  else:
    process.kill()
    pytest.fail('the web app did not answer within 180 s')
  yield url
  process.terminate()
  process.wait(timeout=30)


@pytest.mark.skipif(
  not (CHROMIUM and CHROMEDRIVER), reason='needs chromium and chromium-driver (make test installs them)'
)
def test_upload_in_a_browser_shows_the_top_three(server, predictor, lesion):
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support import expected_conditions
  from selenium.webdriver.support.ui import WebDriverWait

  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,1600'):
    options.add_argument(argument)
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  try:
    driver.get(server)
    wait = WebDriverWait(driver, 120)
    notice = wait.until(expected_conditions.visibility_of_element_located((By.ID, 'notice')))
    assert 'not a medical device' in notice.text and 'not for diagnosis' in notice.text
    driver.find_element(By.CSS_SELECTOR, '#image input[type=file]').send_keys(lesion)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, '#image img')))
    driver.find_element(By.ID, 'classify').click()
    wait.until(lambda d: '%' in d.find_element(By.ID, 'result').text)
    shown = re.findall(r'(\w+) (\d+\.\d)%', driver.find_element(By.ID, 'result').text)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, '#cam img')))
    driver.get(server)  # Again, picking the example instead of uploading.
    wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, '#examples button'))).click()
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, '#image img')))
    driver.find_element(By.ID, 'classify').click()
    wait.until(lambda d: '%' in d.find_element(By.ID, 'result').text)
    picked = re.findall(r'(\w+) (\d+\.\d)%', driver.find_element(By.ID, 'result').text)
  finally:
    driver.quit()
  image = predictor.image(lesion)
  expected = predictor.top(predictor.probabilities(image[None], predictor.metadata()[None])[0], 3)
  assert shown == picked == [(c, f'{100 * p:.1f}') for c, p in expected]


def test_several_users_at_once_and_the_upload_limit(server, lesion, tmp_path):
  from gradio_client import Client, handle_file

  def ask(path):
    return Client(server, verbose=False).predict(handle_file(path), None, 'female', 'unknown', api_name='/run')

  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    answers = list(pool.map(ask, [lesion] * 3))
  assert len({a[0] for a in answers}) == 1 and '%' in answers[0][0]
  big = tmp_path / 'big.png'
  Image.fromarray(np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), np.uint8)).save(big)  # > 1 MB.
  with pytest.raises(Exception, match='(?i)size|large|exceed'):
    ask(str(big))
