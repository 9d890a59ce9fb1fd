"""The MPI world a process belongs to: ``init``, ``rank``, ``world_size``, ``is_main``, and what a
rank does when it fails.

A program started with ``mpiexec -n N`` runs as N processes, the *ranks* 0 … N−1 of one
communicator (``MPI.COMM_WORLD``). Each runs the same code; they cooperate only through
*collectives* — operations every rank calls at the same point, such as ``Allreduce``. That is
also the danger: a rank that stops calling them leaves the others waiting for ever, so a rank that
fails must take the whole job down (:func:`run_rank`).

mpi4py is imported only by :func:`init` (and by the functions that call it), never by
``import gradwork``. A process not started by an MPI launcher is rank 0 of a world of one, and
asking for its rank or size imports nothing.
"""
import os
import sys
import time
import traceback

from gradwork import backend
from gradwork.errors import GradworkError, MissingExtraError
from gradwork.kernels import threads

#: Variables by which MPI launchers tell a process how many ranks it has: MPICH and Intel MPI
#: (Hydra's PMI), Open MPI, MVAPICH. ``SLURM_NTASKS`` is not among them: it is set in a whole batch
#: script, not only in the processes ``srun`` starts.
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")

#: How long a rank other than 0 waits before it reports its failure: an error every rank meets at
#: once (a missing data file) is then reported by rank 0 alone, whose abort ends the others first.
REPORT_DELAY = 1.0

_comm = None  # MPI.COMM_WORLD once init() has run


def _launcher_value(names, default):
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return default


def launched_world_size():
    """The number of ranks an MPI launcher started (1 when none did), read from its environment
    variables without importing MPI."""
    return _launcher_value(WORLD_SIZE_VARIABLES, 1)


def launched():
    """True in a process that ``mpiexec -n N`` started with N > 1: one rank of several."""
    return launched_world_size() > 1


def mpi():
    """The ``mpi4py.MPI`` module, or a ``MissingExtraError`` saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise MissingExtraError('data-parallel training needs mpi4py and an MPI library (with mpiexec), which '
                                'are not installed: pip install "gradwork[mpi]"') from None
    except RuntimeError as error:  # mpi4py is there but cannot load an MPI library
        raise MissingExtraError(f'mpi4py cannot load an MPI library ({error}): pip install "gradwork[mpi]" '
                                'brings MPICH') from None
    return MPI


def init(blas_threads=None):
    """Join the MPI world (once; later calls return the same communicator) and return ``COMM_WORLD``.

    Each rank's BLAS gets ``blas_threads`` threads: by default the cores of this machine shared out
    among the ranks on it (one each when N ranks run on N cores), so that ranks do not fight over
    the cores with threads of their own. A thread count set in ``OMP_NUM_THREADS`` or
    ``OPENBLAS_NUM_THREADS`` is left alone. A process that no launcher started joins a world of one
    (MPI's singleton start).
    """
    global _comm
    if _comm is None:
        MPI = mpi()
        _comm = MPI.COMM_WORLD
        if blas_threads is not None:
            from threadpoolctl import threadpool_limits
            threadpool_limits(blas_threads, user_api="blas")  # lasts for the process
            threads.recount()  # elementwise passes split over no more threads than BLAS now has
        else:
            backend.share_blas_threads(_comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size())
    return _comm


def is_initialized():
    return _comm is not None


def comm():
    """``MPI.COMM_WORLD`` (joining it first if needed)."""
    return init()


def rank():
    """This process's rank, 0 … world_size() − 1 (0 in a process no launcher started)."""
    if _comm is None and not launched():
        return 0
    return comm().Get_rank()


def world_size():
    """The number of ranks (1 in a process no launcher started)."""
    if _comm is None and not launched():
        return 1
    return comm().Get_size()


def is_main():
    """True on rank 0, the rank that prints, writes files and saves checkpoints."""
    return rank() == 0


def run_rank(main, *args, name="gradwork"):
    """Run ``main(*args)`` as this rank of the job and return what it returns.

    If it raises, the other ranks would wait for ever in their next collective: print one line
    naming this rank and the error (after the traceback when it is a bug rather than a user error),
    then ``MPI_Abort``, which ends every rank of the job (MPICH adds a line of its own). The exit
    status is 2 for gradwork's errors and the operating system's (as the command line uses), 1 for
    a bug, 128 + the signal for Ctrl-C or ``kill``.
    """
    try:
        init()
        return main(*args)
    except BaseException as error:  # noqa: B036 — every way out must end the job
        _report_and_abort(error, name)


def _report_and_abort(error, name):
    me = rank() if _comm is not None else _launcher_value(RANK_VARIABLES, 0)
    size = world_size() if _comm is not None else launched_world_size()
    where = f"rank {me} of {size}"
    if isinstance(error, SystemExit):
        status, message = (error.code if isinstance(error.code, int) else 1), f"{where} exited"
    elif not isinstance(error, Exception):  # Ctrl-C (KeyboardInterrupt), or a signal turned into an exception
        status, message = 128 + getattr(error, "signum", 2), f"{where} stopped ({type(error).__name__})"
    elif isinstance(error, (GradworkError, OSError)):  # the user's to fix: one line, as the command line says it
        status, message = 2, f"error on {where}: {_describe(error)}"
    else:  # a bug: its traceback, then the line
        status, message = 1, f"{where} failed: {type(error).__name__}: {error} (traceback above)"
    if me != 0:
        time.sleep(REPORT_DELAY)
    if status == 1:
        traceback.print_exception(error)
    print(f"{name}: {message}", file=sys.stderr, flush=True)
    if _comm is None:  # MPI never started (mpi4py missing): this process can only end itself
        sys.exit(status)
    _comm.Abort(status)


def _describe(error):
    if isinstance(error, OSError) and error.strerror:
        return error.strerror + (f": {error.filename}" if error.filename else "")
    return str(error) or type(error).__name__
