"""Running tests/distributed/mpi_script.py under mpiexec (skipped where mpi4py or mpiexec is missing)."""
import importlib.util
import os
import signal
import subprocess
import sys

import pytest

from gradwork.distributed.launch import find_mpiexec
from gradwork.errors import MissingExtraError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_script.py")
LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE")


def python_env():
    """This environment, with the checkout importable and no MPI launcher's variables (a test run under
    mpiexec itself must not make its children think they are ranks)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    return env


def mpiexec():
    """The mpiexec to use, or skip the test saying what is missing."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip('mpi4py is not installed (pip install "gradwork[mpi]"; the test extra installs it)')
    try:
        return find_mpiexec()
    except MissingExtraError as error:
        pytest.skip(str(error))


def run_script(ranks, *args, timeout=60):
    """``mpiexec -n ranks python mpi_script.py args``, finished (or killed) within ``timeout`` seconds.

    The job runs in its own process group, and a timeout kills the whole group: killing mpiexec alone
    would leave its ranks running."""
    command = [mpiexec(), "-n", str(ranks), sys.executable, SCRIPT, *map(str, args)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=python_env(),
                          start_new_session=True) as job:
        try:
            out, err = job.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            job.communicate()
            raise
    return subprocess.CompletedProcess(command, job.returncode, out, err)
