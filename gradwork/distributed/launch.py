"""Starting N ranks from a command: ``gradwork train --workers N …`` runs
``mpiexec -n N python -m gradwork train …`` (the same arguments without ``--workers``) and waits
for it, so that a user never has to type ``mpiexec``.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

import gradwork
from gradwork.distributed import world
from gradwork.errors import ConfigError, MissingExtraError

MPI_EXTRA = 'pip install "gradwork[mpi]"'


def find_mpiexec():
    """The ``mpiexec`` beside this Python (where the ``mpich`` wheel puts it), else the first on PATH;
    a ``MissingExtraError`` naming the extra when there is none."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("mpiexec")
    if found is None:
        raise MissingExtraError(f"--workers starts mpiexec, which was found neither beside {sys.executable} nor "
                                f"on PATH: {MPI_EXTRA} (the mpich wheel brings it), or install an MPI library")
    return found


def check_mpi4py():
    if importlib.util.find_spec("mpi4py") is None:
        raise MissingExtraError(f"--workers needs mpi4py, which is not installed: {MPI_EXTRA}")


def without_option(argv, option):
    """``argv`` without ``option VALUE`` / ``option=VALUE``, or an abbreviation argparse accepts."""
    kept, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        name, equals, _ = token.partition("=")
        if name.startswith("--") and len(name) > 3 and option.startswith(name):
            skip = not equals
            continue
        kept.append(token)
    return kept


def workers_command(workers, argv):
    """The command that runs ``python -m gradwork argv`` (``--workers`` left out) as ``workers`` ranks."""
    return [find_mpiexec(), "-n", str(workers), sys.executable, "-m", "gradwork", *without_option(argv, "--workers")]


def run_workers(workers, argv):
    """Run the command as ``workers`` ranks under mpiexec; its exit status (rank 0's, or the status of
    the rank that failed)."""
    if world.launched():
        raise ConfigError("--workers starts mpiexec itself; this process already runs under mpiexec: leave "
                          "--workers out (mpiexec -n N gradwork train …) or start gradwork without mpiexec")
    check_mpi4py()
    command = workers_command(workers, argv)
    # The ranks import the same gradwork as this process, even one that is not installed
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(gradwork.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                                       if p))
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except BaseException:  # Ctrl-C or kill: mpiexec passes the signal on to the ranks; give them a moment
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
