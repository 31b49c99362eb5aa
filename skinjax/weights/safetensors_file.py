"""`.safetensors` files read with numpy alone: an 8-byte little-endian header length, a JSON
header {name: {dtype, shape, data_offsets}}, then the tensors' bytes. Nothing in the file is
executed; bfloat16 tensors are widened to float32."""

import json
import pathlib

import numpy as np

_DTYPES = {
  'F64': np.float64,
  'F32': np.float32,
  'F16': np.float16,
  'I64': np.int64,
  'I32': np.int32,
  'I16': np.int16,
  'I8': np.int8,
  'U8': np.uint8,
  'BOOL': np.bool_,
}


def read(path: str) -> dict[str, np.ndarray]:
  """{name: array} of a `.safetensors` file; a malformed file is an error naming it."""
  data = pathlib.Path(path).read_bytes()
  try:
    size = int.from_bytes(data[:8], 'little')
    header = json.loads(data[8 : 8 + size])
  except (ValueError, UnicodeDecodeError) as e:
    raise ValueError(f'{path}: not a safetensors file (its header does not parse: {e}).') from None
  body = memoryview(data)[8 + size :]
  tensors = {}
  for name, entry in header.items():
    if name == '__metadata__':
      continue
    start, end = entry['data_offsets']
    if not 0 <= start <= end <= len(body):
      raise ValueError(f'{path}: tensor {name} lies outside the file (bytes {start}-{end} of {len(body)}).')
    raw = body[start:end]
    if entry['dtype'] == 'BF16':
      array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
    elif entry['dtype'] in _DTYPES:
      array = np.frombuffer(raw, _DTYPES[entry['dtype']])
    else:
      raise ValueError(f'{path}: tensor {name} has dtype {entry["dtype"]}; expected one of {["BF16", *_DTYPES]}.')
    tensors[name] = array.reshape(entry['shape']).copy()
  return tensors
