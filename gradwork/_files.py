"""Writing files so that a crash never leaves half of one behind: write a temporary file beside
the target, flush it to disk, then rename it over the target (a rename is atomic)."""
import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file next to ``path``; on success it replaces ``path``, on error it is removed."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private (0600); give it the usual rights
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0)  # the only way to read the umask is to set it; put it straight back
    os.umask(mask)
    return mask


def write_bytes(path, data):
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_json(path, obj):
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write("\n")
