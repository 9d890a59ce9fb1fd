"""Data-parallel training over MPI (``pip install "gradwork[mpi]"``: mpi4py and MPICH's ``mpiexec``).

    mpiexec -n 4 gradwork train --model mlp ...       four ranks, one run folder
    gradwork train --workers 4 --model mlp ...         the same: starts mpiexec itself

or, in Python, a script started with ``mpiexec -n 4 python script.py``::

    import gradwork as gw
    gw.distributed.init()
    history = gw.train.fit(model, train_data, ..., distributed=True)   # rank 0 alone shows progress

Each rank trains on its shard of every epoch (``DistributedSampler``) with the batch size given, so
the step's global batch is N × batch size; after every backward pass the ranks average their
gradients (``allreduce_gradients``) and take the same optimiser step. The pieces are here for a loop
of your own: ``broadcast_parameters``, ``GradientBuckets`` / ``allreduce_gradients``,
``average_buffers``, ``sum_over_ranks``. docs/distributed.md explains the design and its costs.

Importing this package imports no MPI: mpi4py is loaded by :func:`init`.
"""
from gradwork.distributed.collectives import (GradientBuckets, allreduce_gradients, average_buffers,
                                              broadcast_parameters, sum_over_ranks)
from gradwork.distributed.data_parallel import DataParallelRun
from gradwork.distributed.launch import run_workers
from gradwork.distributed.sampler import DistributedSampler, ShardedLoader
from gradwork.distributed.world import init, is_initialized, is_main, launched, rank, run_rank, world_size

__all__ = ["init", "rank", "world_size", "is_main", "is_initialized", "launched", "run_rank", "run_workers",
           "DistributedSampler", "ShardedLoader", "broadcast_parameters", "GradientBuckets", "allreduce_gradients",
           "average_buffers", "sum_over_ranks", "DataParallelRun"]
