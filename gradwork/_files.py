"""Writing files so that a crash never leaves half of one behind: write a temporary file beside
the target, flush it to disk, then rename it over the target (a rename is atomic).

The temporary file is ``.<name>.<pid>.<random>.tmp``: hidden, never mistaken for the target (every
reader opens the target's exact name), and marked with the writing process. A process killed
mid-write (SIGKILL, power loss) cannot remove its own; the next write of the same target removes
those whose process is gone, so they never pile up.
"""
import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file next to ``path``; on success it replaces ``path``, on error it is removed."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp", dir=directory)
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


def stale_temporaries(path):
    """Temporary files of earlier writes of ``path`` whose writing process no longer runs."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    prefix = f".{name}."
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    stale = []
    for entry in entries:
        if entry.startswith(prefix) and entry.endswith(".tmp"):
            pid = entry[len(prefix):].split(".", 1)[0]
            if not (pid.isdigit() and _running(int(pid))):  # no pid: written before pids were recorded
                stale.append(os.path.join(directory, entry))
    return stale


def remove_stale_temporaries(path):
    for tmp in stale_temporaries(path):
        with contextlib.suppress(OSError):  # another process may be removing it too
            os.remove(tmp)


def _running(pid):
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill would end the process, not ask about it
        return True
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


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
