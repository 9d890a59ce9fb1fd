"""Devices: where a tensor's array lives ("cpu", "cuda:0", …) and which array module computes with it.

gradwork computes with NumPy on the CPU and with CuPy on an NVIDIA GPU. Both speak NumPy's API, so
an op written once runs on either, if it takes its array module from its inputs (Chainer's idea)::

    xp = get_array_module(x)        # numpy for a NumPy array, cupy for a CuPy array
    out = xp.zeros(x.shape, x.dtype)

instead of binding NumPy when the file is imported. ``get_array_module`` is one type lookup per
argument, so the NumPy path costs nothing measurable.

A *device kind* (:class:`DeviceKind`) says what gradwork needs to know about one kind of device: its
array module, its array type, how arrays move to and from the host, and the few calls NumPy's API
lacks (a scatter-add, a seeded generator). The CPU kind is NumPy; the CUDA kind
(``gradwork/backend/cuda.py``) imports CuPy only when a CUDA device is first asked for, so
``import gradwork`` never loads it. Tests register a kind of their own (``tests/backend/fake_device.py``)
to check that every op keeps its arrays on the device without needing a GPU.
"""
import importlib

import numpy as np

from gradwork.errors import ConfigError


class DeviceKind:
    """What gradwork needs to know about one kind of device. Subclasses set ``name``, ``xp`` and
    ``array_types`` and define the methods below; the CPU kind is the model."""

    name = None
    xp = None
    array_types = ()

    def device_count(self):
        """How many devices of this kind there are."""
        return 1

    def index_of(self, array):
        """The index of the device that holds ``array`` (``None`` where there is only one)."""
        return None

    def to_device(self, host_array, index):
        """A copy of the NumPy array ``host_array`` on device ``index``."""
        raise NotImplementedError

    def to_host(self, array):
        """A NumPy copy of ``array``."""
        raise NotImplementedError

    def scatter_add(self, target, index, values):
        """``target[index] += values`` where repeated indices all add up (NumPy's ``np.add.at``)."""
        raise NotImplementedError

    def make_rng(self, seed, index):
        """A generator with NumPy ``Generator``'s methods (``random``, ``standard_normal``, ``uniform``,
        ``normal``, ``integers``, ``permutation``) whose draws are arrays on device ``index``."""
        raise NotImplementedError


class CPUKind(DeviceKind):
    """The host: NumPy arrays."""

    name = "cpu"
    xp = np
    array_types = (np.ndarray,)

    def to_device(self, host_array, index):
        return host_array

    def to_host(self, array):
        return array

    def scatter_add(self, target, index, values):
        np.add.at(target, index, values)

    def make_rng(self, seed, index):
        return np.random.default_rng(seed)


CPU_KIND = CPUKind()

#: name → registered kind; "cuda" joins on first use (see :func:`get_kind`).
_kinds = {"cpu": CPU_KIND}
#: kinds that are imported when first asked for: name → module defining ``KIND``.
_lazy_kinds = {"cuda": "gradwork.backend.cuda"}
#: array type → its kind, for every registered kind but the CPU (NumPy is the default answer).
_kind_of_type = {}


def register_device_kind(kind):
    """Make ``kind`` usable: ``Device(kind.name)`` and its arrays dispatch to ``kind.xp``."""
    _kinds[kind.name] = kind
    for array_type in kind.array_types:
        if array_type is not np.ndarray:
            _kind_of_type[array_type] = kind


def unregister_device_kind(name):
    """Forget a kind registered with :func:`register_device_kind` (tests clean up with this)."""
    kind = _kinds.pop(name, None)
    for array_type in getattr(kind, "array_types", ()):
        _kind_of_type.pop(array_type, None)


def get_kind(name):
    """The registered kind called ``name``, importing a lazy one (CUDA: CuPy) on first use.

    Raises ``MissingExtraError`` when CuPy is not installed and ``DeviceError`` when it finds no GPU.
    """
    kind = _kinds.get(name)
    if kind is None:
        if name not in _lazy_kinds:
            raise ConfigError(f"unknown device {name!r}: expected 'cpu', 'cuda', 'cuda:N' or 'auto'")
        kind = importlib.import_module(_lazy_kinds[name]).load_kind()
        register_device_kind(kind)
    return kind


def get_array_module(*arrays):
    """The array module of the arguments: CuPy (or a registered kind's module) if any argument is one
    of its arrays, else NumPy. Scalars and ``None`` count as NumPy.

    This is how an op finds where to make its new arrays: ``xp = get_array_module(x)``. It is one
    dictionary lookup per argument: cheap enough for every op call.
    """
    for array in arrays:
        kind = _kind_of_type.get(type(array))
        if kind is not None:
            return kind.xp
    return np


def kind_of(array):
    """The :class:`DeviceKind` holding ``array`` (the CPU kind for NumPy arrays and scalars)."""
    return _kind_of_type.get(type(array), CPU_KIND)


def is_device_array(array):
    """True for an array of a registered device kind other than the CPU (a CuPy array, say). An
    array of CuPy that gradwork has not seen yet registers the CUDA kind on the way."""
    array_type = type(array)
    if array_type is np.ndarray:
        return False
    if array_type in _kind_of_type:
        return True
    if array_type.__module__.split(".")[0] == "cupy" and hasattr(array, "__cuda_array_interface__"):
        get_kind("cuda")
        return array_type in _kind_of_type
    return False


class Device:
    """Where a tensor lives: ``Device("cpu")``, ``Device("cuda")`` (GPU 0), ``Device("cuda:1")``.

    ``Device("auto")`` is the first GPU when CuPy finds one, else the CPU. Equal devices compare and
    hash equal, and ``str(device)`` is the name PyTorch prints (``"cpu"``, ``"cuda:0"``). Making a
    ``Device`` does not import CuPy; using one (``.xp``, moving an array there) does.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a name such as 'cpu', 'cuda' or 'cuda:1', got {type(spec).__name__}")
        name = spec.strip().lower()
        if name == "auto":
            name = "cuda" if cuda_available() else "cpu"
        if ":" in name:
            name, _, number = name.partition(":")
            if not number.isdigit() or index is not None:
                raise ConfigError(f"device: cannot read {spec!r}; write 'cuda' or 'cuda:N' with N a GPU number")
            index = int(number)
        if name not in _kinds and name not in _lazy_kinds:
            raise ConfigError(f"unknown device {spec!r}: expected 'cpu', 'cuda', 'cuda:N' or 'auto'")
        if name == "cpu":
            if index not in (None, 0):
                raise ConfigError(f"device: there is one CPU device, got {spec!r} with index {index}")
            index = None
        elif index is None:
            index = 0
        self.type, self.index = name, index

    @property
    def kind(self):
        """This device's :class:`DeviceKind` (imports CuPy for a CUDA device)."""
        return get_kind(self.type)

    @property
    def xp(self):
        """The array module that computes on this device (``numpy`` or ``cupy``)."""
        return self.kind.xp

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except (ConfigError, TypeError):
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = Device("cpu")


def device_of(array):
    """The :class:`Device` holding ``array``."""
    kind = _kind_of_type.get(type(array))
    if kind is None:
        return CPU
    return Device(kind.name, kind.index_of(array))


def to_device(array, device):
    """``array`` on ``device``: the same array when it is already there, else a copy (through the host
    between two kinds of device)."""
    device = device if isinstance(device, Device) else Device(device)
    source = device_of(array)
    if source == device:
        return array
    host = array if source.type == "cpu" else source.kind.to_host(array)
    return host if device.type == "cpu" else device.kind.to_device(host, device.index)


def to_host(array):
    """``array`` as a NumPy array (itself when it already is one): what file formats and plots take."""
    kind = _kind_of_type.get(type(array))
    return array if kind is None else kind.to_host(array)


def cuda_available():
    """True when CuPy is installed and finds at least one GPU (never raises)."""
    try:
        return get_kind("cuda").device_count() > 0
    except (ImportError, RuntimeError):
        return False


def to_device_of(array, reference):
    """``array`` (a NumPy array, a list, a number) on the device of the array ``reference``: an index or
    a mask given on the host, used with a tensor on a GPU, moves there. Costs one type check on the CPU."""
    if type(array) is type(reference):
        return array
    kind = _kind_of_type.get(type(reference))
    if kind is None:  # reference on the CPU
        return array if type(array) is np.ndarray else np.asarray(to_host(array))
    return to_device(np.asarray(array) if not is_device_array(array) else array, device_of(reference))
