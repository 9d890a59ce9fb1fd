"""Reading a PyTorch ``.pt``/``.pth`` state dict without PyTorch and without running the file's code.

What ``torch.save(model.state_dict(), "model.pt")`` writes is a zip archive::

    model/data.pkl       a pickle of the dict: keys, and for each tensor a call
                         torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
    model/data/0, 1, …   each storage's raw bytes (the pickle names them by key: "0", "1", …)
    model/byteorder      "little" or "big"
    model/version, .format_version, .storage_alignment, .data/serialization_id

Why not plain ``pickle.load``: a pickle is a small program. Its GLOBAL opcode imports any name
(``os.system``) and REDUCE calls it with any arguments, so loading a stranger's pickle runs the
stranger's code. Here a ``pickle.Unpickler`` subclass answers GLOBAL through ``find_class`` with a
short allow-list — the names a state dict needs, each mapped to a function of *ours* that builds a
NumPy array — and refuses every other name with a :class:`CheckpointError` naming it. Storages
(``persistent_load``) are read from the zip by key, their size checked against the dtype and
element count the pickle claims. Nothing from torch is imported; torch need not be installed.
"""
import io
import math
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from gradwork.errors import CheckpointError

# torch's storage classes and the NumPy dtype of their elements. bfloat16 has no NumPy dtype.
STORAGE_DTYPES = {
    "HalfStorage": np.float16, "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_, "UntypedStorage": np.uint8,
}

# A tensor may view its storage with a stride of 0 (an expanded tensor) and so be far larger than
# its bytes in the file; beyond this many times the file's size it is refused, so that a small
# hostile file cannot make the reader allocate gigabytes.
MAX_GROWTH = 8
SLACK_BYTES = 2 ** 20


class _StorageType:
    """Stands for one of torch's storage classes (``torch.FloatStorage``) in the pickle: only its dtype matters."""

    def __init__(self, name):
        self.name, self.dtype = name, np.dtype(STORAGE_DTYPES[name])


class _Storage:
    """One storage read from the zip: a flat array. Not callable, and BUILD cannot change it."""

    __slots__ = ("array", "key")

    def __init__(self, array, key):
        self.array, self.key = array, key

    def __setstate__(self, state):
        raise CheckpointError("the pickle tries to change a storage object (BUILD on a storage); the file is corrupt "
                              "or hostile")


def _is_int(value, minimum=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None):
    """What ``torch._utils._rebuild_tensor_v2`` does, in NumPy: the view ``storage[offset + Σ index·stride]``
    of shape ``size``, copied so that tensors sharing a storage do not share memory here."""
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"a tensor is built from a {type(storage).__name__}, not from a storage in the file")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and all(_is_int(s) for s in size) and all(_is_int(s) for s in stride) and _is_int(storage_offset)):
        raise CheckpointError(f"a tensor on storage {storage.key} has an invalid offset, size or stride "
                              f"({storage_offset!r}, {size!r}, {stride!r})")
    if backward_hooks not in (None, {}) or metadata not in (None, {}):
        raise CheckpointError(f"a tensor on storage {storage.key} carries backward hooks or extra metadata, which a "
                              "plain state dict does not; save model.state_dict() instead")
    flat = storage.array
    count = math.prod(size)
    if count == 0:
        return np.empty(size, flat.dtype)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise CheckpointError(f"a tensor of size {size} with stride {stride} at offset {storage_offset} reads past "
                              f"the end of storage {storage.key} ({flat.size} elements); the file is corrupt")
    if count * flat.itemsize > MAX_GROWTH * max(flat.nbytes, 1) + SLACK_BYTES:
        raise CheckpointError(f"a tensor of size {size} is far larger than its storage {storage.key} "
                              f"({flat.size} elements); refusing to build it")
    view = np.lib.stride_tricks.as_strided(flat[storage_offset:], shape=size,
                                           strides=tuple(s * flat.itemsize for s in stride), writeable=False)
    return np.array(view, copy=True)


def _rebuild_tensor_v1(storage, storage_offset, size, stride):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    """``nn.Parameter`` in the pickle: its array (gradwork decides what is trainable)."""
    if not isinstance(data, np.ndarray):
        raise CheckpointError(f"a parameter is built from a {type(data).__name__}, not from a tensor")
    if backward_hooks not in (None, {}) or any(s not in (None, {}) for s in state):
        raise CheckpointError("a parameter carries hooks or extra state, which a plain state dict does not")
    return data


ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor_v1,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that imports nothing: every global the pickle names must be in :data:`ALLOWED`."""

    def __init__(self, data, read_storage):
        super().__init__(io.BytesIO(data))
        self._read_storage = read_storage
        self._storages = {}

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except (KeyError, TypeError):
            hint = (" (bfloat16 has no NumPy type: save with model.float() first)" if name == "BFloat16Storage"
                    else "")
            raise CheckpointError(f"the pickle asks for {module}.{name}, which a state dict does not need: refused, "
                                  f"nothing was run{hint}. Only tensors, parameters and OrderedDicts can be "
                                  "loaded; if you trust the file, load it with torch and save model.state_dict()"
                                  ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise CheckpointError(f"the pickle refers to an object {pid!r:.80} that is not a storage")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or not _is_int(numel):
            raise CheckpointError(f"the pickle refers to a storage with an invalid type, key or size ({pid!r:.120})")
        if key in self._storages:
            storage = self._storages[key]
            if storage.array.dtype != kind.dtype:
                raise CheckpointError(f"storage {key} is used both as {storage.array.dtype} and {kind.dtype}")
            return storage
        storage = _Storage(self._read_storage(key, kind.dtype, numel), key)
        self._storages[key] = storage
        return storage


def read_torch_zip(path):
    """The state dict in a PyTorch zip file at ``path``, as an ordered ``{name: ndarray}``."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch file (damaged zip: {error})") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        pickles = [name for name in infos if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            if any(name.endswith("/constants.pkl") for name in infos):
                raise CheckpointError(f"{path} is a TorchScript archive (torch.jit.save), not a state dict: in "
                                      "PyTorch, torch.save(model.state_dict(), 'model.pt') and load that")
            raise CheckpointError(f"{path} is a zip file but not a PyTorch file written by torch.save "
                                  "(it has no <name>/data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]

        def read(name):
            info = infos.get(name)
            if info is None:
                return None
            if info.compress_type != zipfile.ZIP_STORED:  # torch never compresses; a zip bomb might
                raise CheckpointError(f"{path}: {name} is compressed, which torch.save never does; refused")
            return archive.read(info)

        try:
            order = (read(prefix + "byteorder") or b"little").decode("ascii")
            if order not in ("little", "big"):
                raise CheckpointError(f"{path}: unknown byte order {order!r}")

            def read_storage(key, dtype, numel):
                data = read(prefix + "data/" + key)
                if data is None:
                    raise CheckpointError(f"{path}: storage {key} is referred to but missing from the archive")
                if len(data) != numel * dtype.itemsize:
                    raise CheckpointError(f"{path}: storage {key} should hold {numel} {dtype} values "
                                          f"({numel * dtype.itemsize} bytes) but has {len(data)} bytes; "
                                          "the file is truncated or corrupt")
                stored = dtype.newbyteorder("<" if order == "little" else ">")
                return np.frombuffer(data, stored).astype(dtype)  # native order, and a writable copy

            unpickler = RestrictedUnpickler(read(pickles[0]), read_storage)
            result = unpickler.load()
        except CheckpointError as error:
            if not str(error).startswith(str(path)):
                raise CheckpointError(f"{path}: {error}") from None
            raise
        except Exception as error:  # a damaged pickle or zip: any of many error types
            raise CheckpointError(f"{path} is not a readable PyTorch file (truncated or corrupt: "
                                  f"{type(error).__name__}: {error})") from None
    return _check_state_dict(result, path)


def _check_state_dict(result, path):
    if not isinstance(result, dict):
        raise CheckpointError(f"{path} holds a {type(result).__name__}, not a state dict (a dict of tensors); "
                              "in PyTorch, save model.state_dict()")
    nested = [k for k, v in result.items() if isinstance(v, dict)]
    if nested:
        raise CheckpointError(f"{path} holds a dict of dicts (keys {list(result)[:6]}), not a state dict: "
                              f"perhaps a training checkpoint whose {nested[0]!r} entry is the state dict; in "
                              f"PyTorch, torch.save(checkpoint[{nested[0]!r}], 'weights.pt')")
    wrong = [k for k, v in result.items() if not isinstance(k, str) or not isinstance(v, np.ndarray)]
    if wrong:
        raise CheckpointError(f"{path}: entry {wrong[0]!r} is a {type(result[wrong[0]]).__name__}, not a tensor "
                              "named by a string; only state dicts can be loaded")
    return OrderedDict(result)
