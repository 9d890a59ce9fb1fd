"""IDX files, the format of MNIST and Fashion-MNIST: a tiny header, then raw bytes.

    bytes 0–1   zero
    byte  2     element type: 0x08 unsigned byte (the only one these data sets use), 0x09 signed
                byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions d
    4·d bytes   the size of each dimension, big-endian 32-bit
    then        the values, row-major, big-endian

A file is not trusted before it is checked. ``read_idx`` reads the header first and checks it against
what the caller knows the file must hold (MNIST's training images are 60,000 × 28 × 28 unsigned bytes),
then reads exactly the number of bytes the header declares — never more, even from a ``.gz`` that
would decompress to gigabytes — and one byte beyond them must not exist. Anything else is a
:class:`DataFileError` that names the file and says what is wrong.
"""
import gzip
import math
import os
import zlib

from gradwork.backend import xp
from gradwork.errors import DataFileError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
TYPE_NAMES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int", 0x0D: "float",
              0x0E: "double"}

#: NumPy arrays have at most 64 dimensions; no IDX data set has more than 3.
MAX_NDIM = 32
#: DEFLATE expands at most 1032-fold, so a .gz of n bytes cannot hold more than 1032·n bytes: a header
#: that promises more is lying, and is rejected before anything is allocated for it.
MAX_GZIP_RATIO = 1032
#: The body is decompressed in pieces of this size, so no temporary copy is larger.
CHUNK = 1 << 20

DAMAGED = "the file is damaged or incomplete — delete it and fetch it again"


def read_idx(path, shape=None, type_code=None):
    """The array stored in an IDX file (``.gz`` or raw), after checking its header and size.

    ``shape`` and ``type_code`` say what the file must hold, e.g. ``(60000, 28, 28)`` and ``0x08`` for
    MNIST's training images: a header that says otherwise is rejected before the body is read. ``None``
    (for either, or for one dimension of ``shape``) accepts any value there.
    """
    path = os.fspath(path)
    compressed = path.endswith(".gz")
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            dims, dtype, header_size = _read_header(f, path, shape, type_code)
            nbytes = math.prod(dims) * dtype.itemsize
            _check_room(path, compressed, dims, header_size + nbytes)
            body = _read_body(f, path, dims, nbytes)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as error:  # how gzip reports a damaged or truncated archive
        action = "decompressed" if compressed else "read"
        raise DataFileError(f"{path}: cannot be {action} ({error}); {DAMAGED}") from None
    array = xp.frombuffer(body, dtype=dtype).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_header(f, path, shape, type_code):
    """(dims, dtype, header size in bytes), checked against the expected ``shape`` and ``type_code``."""
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in DTYPES:
        raise DataFileError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'}; "
                            "expected 0000 then a type byte such as 08)")
    code, ndim = magic[2], magic[3]
    if type_code is not None and code != type_code:
        raise DataFileError(f"{path}: element type 0x{code:02X} ({TYPE_NAMES[code]}), but this data set stores "
                            f"0x{type_code:02X} ({TYPE_NAMES[type_code]}); {DAMAGED}")
    if shape is not None and ndim != len(shape):
        raise DataFileError(f"{path}: {ndim} dimensions in the header, but this data set has {len(shape)} "
                            f"{_shape_text(shape)}; {DAMAGED}")
    if ndim > MAX_NDIM:
        raise DataFileError(f"{path}: the header declares {ndim} dimensions (at most {MAX_NDIM} are possible); "
                            f"{DAMAGED}")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataFileError(f"{path}: truncated header ({4 + len(sizes)} bytes for {ndim} dimensions); {DAMAGED}")
    dims = tuple(int.from_bytes(sizes[4 * i: 4 * i + 4], "big") for i in range(ndim))
    if shape is not None and any(want is not None and got != want for got, want in zip(dims, shape)):
        raise DataFileError(f"{path}: the header declares shape {dims}, but this data set has "
                            f"{_shape_text(shape)}; {DAMAGED}")
    return dims, xp.dtype(DTYPES[code]), 4 + 4 * ndim


def _check_room(path, compressed, dims, declared):
    """Before allocating the body: could a file of this size hold what the header declares?"""
    on_disk = os.path.getsize(path)
    if not compressed and on_disk != declared:
        raise DataFileError(f"{path}: size check failed — the header promises shape {dims} ({declared:,} bytes) "
                            f"but the file has {on_disk:,} bytes; {DAMAGED}")
    if compressed and declared > MAX_GZIP_RATIO * on_disk + 1024:
        raise DataFileError(f"{path}: size check failed — the header promises shape {dims} ({declared:,} bytes), "
                            f"more than a .gz of {on_disk:,} bytes can hold; {DAMAGED}")


def _read_body(f, path, dims, nbytes):
    """Exactly ``nbytes`` bytes, read piece by piece into one buffer of that size; then the file must end."""
    body = bytearray(nbytes)
    view = memoryview(body)
    filled = 0
    while filled < nbytes:
        piece = f.read(min(CHUNK, nbytes - filled))
        if not piece:
            raise DataFileError(f"{path}: size check failed — the header promises shape {dims} ({nbytes:,} bytes "
                                f"of values) but the file holds only {filled:,}; {DAMAGED}")
        view[filled:filled + len(piece)] = piece
        filled += len(piece)
    if f.read(1):  # reading to the end is also what makes gzip verify its checksum
        raise DataFileError(f"{path}: size check failed — more bytes follow the {nbytes:,} the header promises "
                            f"for shape {dims}; {DAMAGED}")
    return body


def _shape_text(shape):
    return "(" + " × ".join("any" if n is None else f"{n:,}" for n in shape) + ")"


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file (gzip-compressed if the name ends in .gz) — for tests and tools."""
    array = xp.ascontiguousarray(array, dtype=xp.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
