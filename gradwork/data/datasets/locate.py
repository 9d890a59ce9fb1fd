"""Finding data files: local first, then (only if allowed and needed) a verified download.

Search order for a data set called NAME:
    1. the ``root`` argument
    2. ``$GRADWORK_DATA``
    3. ``~/.cache/gradwork``
    4. the system folder a distribution package installs to (``/usr/share/datasets``; Debian's
       ``dataset-fashion-mnist`` puts Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``)
In each, the files may sit in the folder itself or in its NAME sub-folder.
"""
import hashlib
import os
import urllib.error
import urllib.request

from gradwork import _files
from gradwork.errors import DataFileError

SYSTEM_DIR = "/usr/share/datasets"


def cache_dir():
    return os.path.join(os.path.expanduser("~"), ".cache", "gradwork")


def search_dirs(name, root=None, subfolder=None):
    """The folders searched, in order; ``subfolder`` (e.g. where an archive extracts to) is tried in each."""
    bases = [root, os.environ.get("GRADWORK_DATA"), cache_dir(), SYSTEM_DIR]
    dirs = []
    for base in bases:
        if base:
            base = os.path.expanduser(os.fspath(base))
            for folder in (base, os.path.join(base, name)):
                dirs += [folder] + ([os.path.join(folder, subfolder)] if subfolder else [])
    return dirs


def find(name, alternatives, root=None, subfolder=None):
    """The first folder that holds every file of one of ``alternatives`` (each a list of file names,
    e.g. the .gz names or the uncompressed ones), as (folder, file names); None if there is none."""
    for folder in search_dirs(name, root, subfolder):
        for names in alternatives:
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return folder, names
    return None


def md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(name, files, mirrors, target=None):
    """Fetch ``files`` ({file name: md5}) from the first mirror that works into ``target`` (the cache
    by default), verifying each checksum; a file is only renamed into place once verified."""
    target = target or os.path.join(cache_dir(), name)
    os.makedirs(target, exist_ok=True)
    for filename, expected in files.items():
        path = os.path.join(target, filename)
        if os.path.isfile(path) and md5(path) == expected:
            continue
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + filename
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError) as error:
                errors.append(f"{url}: {getattr(error, 'reason', error)}")
                continue
            digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if digest != expected:
                errors.append(f"{url}: checksum mismatch (md5 {digest}, expected {expected})")
                continue
            _files.write_bytes(path, data)
            break
        else:
            raise DataFileError(f"could not download {filename}: " + "; ".join(errors))
    return target


def not_found_message(name, wanted, root, hint):
    places = "\n  ".join(search_dirs(name, root))
    return (f"{name}: the data files ({', '.join(wanted)}) were not found. Looked in:\n  {places}\n"
            f"{hint}\nOr put the files in one of those folders (or set GRADWORK_DATA to the folder that holds them).")
