"""IDX files, the format of MNIST and Fashion-MNIST: a tiny header, then raw bytes.

    bytes 0–1   zero
    byte  2     element type: 0x08 unsigned byte (the only one these data sets use), 0x09 signed
                byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
    byte  3     number of dimensions d
    4·d bytes   the size of each dimension, big-endian 32-bit
    then        the values, row-major, big-endian
"""
import gzip
import os

from gradwork.backend import xp
from gradwork.errors import DataFileError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array stored in an IDX file (``.gz`` or raw), after checking its header and size."""
    path = os.fspath(path)
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            data = f.read()
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except (OSError, EOFError) as error:  # gzip reports a truncated or damaged archive this way
        raise DataFileError(f"{path}: cannot be decompressed ({error}); the download is probably incomplete — "
                            "delete it and fetch it again") from None
    return parse_idx(data, path)


def parse_idx(data, name="IDX data"):
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
        raise DataFileError(f"{name}: not an IDX file (bad magic number {data[:4].hex() or 'empty'}; "
                            "expected 0000 then a type byte such as 08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(f"{name}: truncated header ({len(data)} bytes for {ndim} dimensions)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = xp.dtype(DTYPES[data[2]])
    expected = header + int(xp.prod(shape, dtype=xp.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataFileError(f"{name}: size check failed — the header promises shape {shape} "
                            f"({expected:,} bytes) but the file has {len(data):,} bytes; it is truncated or damaged")
    return xp.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file (gzip-compressed if the name ends in .gz) — for tests and tools."""
    array = xp.ascontiguousarray(array, dtype=xp.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
