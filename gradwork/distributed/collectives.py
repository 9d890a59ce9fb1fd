"""What the ranks of a data-parallel run exchange: the starting weights, the gradients of every
step, BatchNorm's running statistics, and the sums behind the logged losses and metrics.

Every exchange is a collective on NumPy arrays in place (``Bcast``, ``Allreduce`` with
``MPI.IN_PLACE``): MPI reads and writes the arrays' memory directly, nothing is pickled. Every rank
must call the same function at the same point of the program with arrays of the same sizes.

**Gradients** (:class:`GradientBuckets`, :func:`allreduce_gradients`). Each rank computes the mean
gradient over its own b examples; the mean over all N·b examples of the step is the mean of the N
ranks' gradients (the ranks have equal batches, see :mod:`gradwork.distributed.sampler`)::

    g = (1/N) Σ_r g_r          one Allreduce(SUM), then a division by N

One message per parameter would pay MPI's latency for each of them (a ResNet has dozens), so the
gradients are copied into a few flat buffers — *buckets* of at most ``bucket_bytes`` each
(PyTorch's default, 25 MiB, holds every bundled model whole but ResNet-18 and VGG-16) — and each
bucket is reduced with one ``Allreduce``. The buffers are allocated once and reused every step.

**BatchNorm's running statistics** (:func:`average_buffers`). During training each rank normalises
with its own batch's statistics (as PyTorch's ``DistributedDataParallel`` does without
``SyncBatchNorm``), so each rank's running mean and variance follow its own shard. At the end of
every epoch they are averaged over the ranks, so that validation, the checkpoint and every rank use
one set. The mean of the ranks' running means is the running mean of all the batches; the mean of
their running variances leaves out how much the ranks' means differ from each other, which is
small when every shard is a random draw from the same data. (Synchronising the batch statistics
themselves, as ``SyncBatchNorm`` does, would cost two more Allreduces per BatchNorm layer per step,
inside the forward pass.) Integer buffers (``num_batches_tracked``) are the same on every rank and
are left alone.
"""
import numpy as np

from gradwork.autograd.sparse import SparseGrad
from gradwork.distributed import world

#: PyTorch DistributedDataParallel's default bucket size (``bucket_cap_mb=25``).
DEFAULT_BUCKET_BYTES = 25 * 2 ** 20


def _parameters(model_or_params):
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else model_or_params
    return [p for p in params if p.requires_grad]


def broadcast_parameters(model, root=0):
    """Overwrite every parameter and buffer of ``model`` with rank ``root``'s, in place, so that all
    ranks start from the same weights (whatever seed each one used)."""
    comm = world.comm()
    for tensor in [*model.parameters(), *model.buffers()]:
        array = tensor.data
        if array.flags.c_contiguous and array.flags.writeable:
            comm.Bcast(array, root=root)
        else:  # MPI needs one block of memory: go through a contiguous copy
            block = np.ascontiguousarray(array)
            comm.Bcast(block, root=root)
            array[...] = block


class GradientBuckets:
    """Flat buffers for the gradients of ``parameters``, and the step that averages them over the
    ranks (:meth:`allreduce`). Parameters of different dtypes go into different buckets."""

    def __init__(self, parameters, bucket_bytes=DEFAULT_BUCKET_BYTES):
        if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) or bucket_bytes <= 0:
            raise ValueError(f"bucket_bytes must be a positive integer, got {bucket_bytes!r}")
        self.parameters, self.bucket_bytes = _parameters(parameters), bucket_bytes
        self.buckets = []  # (flat buffer, [(parameter, start, stop), …])
        groups = {}
        for p in self.parameters:
            groups.setdefault(p.data.dtype, []).append(p)
        for dtype, params in groups.items():
            members, size = [], 0
            for p in params:
                if members and (size + p.data.size) * dtype.itemsize > bucket_bytes:
                    self._add_bucket(dtype, members, size)
                    members, size = [], 0
                members.append((p, size, size + p.data.size))
                size += p.data.size
            self._add_bucket(dtype, members, size)

    def _add_bucket(self, dtype, members, size):
        self.buckets.append((np.empty(size, dtype), members))

    def allreduce(self):
        """Replace every parameter's ``.grad`` by its mean over the ranks: one ``Allreduce`` per
        bucket. A parameter without a gradient on this rank counts as a zero gradient."""
        comm, size = world.comm(), world.world_size()
        MPI = world.mpi()
        for buffer, members in self.buckets:
            for p, start, stop in members:
                if isinstance(p.grad, SparseGrad):
                    raise TypeError(f"distributed training averages dense gradients; a parameter of shape "
                                    f"{tuple(p.shape)} has a sparse one (Embedding(sparse=True)): use sparse=False")
                if p.grad is None:
                    buffer[start:stop] = 0
                else:
                    buffer[start:stop] = p.grad.reshape(-1)
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            for p, start, stop in members:
                # The division makes a new array: a .grad never shares memory with the buffer that the
                # next step overwrites (gradients are not changed in place anywhere in gradwork).
                p.grad = buffer[start:stop].reshape(p.shape) / size

    @property
    def nbytes(self):
        return sum(buffer.nbytes for buffer, _ in self.buckets)


_last_buckets = (None, None)  # (the parameters, their buckets): the buffers of the last call, kept for the next


def allreduce_gradients(model_or_params, bucket_bytes=DEFAULT_BUCKET_BYTES):
    """Average the gradients of a model's (or a list of) parameters over the ranks, in place of each
    ``.grad``; call it after ``backward()``, before clipping and ``optimizer.step()``. The buckets
    made for one set of parameters are reused while the next call has the same ones."""
    global _last_buckets
    params = _parameters(model_or_params)
    kept, buckets = _last_buckets
    if kept is None or len(kept) != len(params) or any(a is not b for a, b in zip(kept, params)) \
            or buckets.bucket_bytes != bucket_bytes:
        buckets = GradientBuckets(params, bucket_bytes)
        _last_buckets = (params, buckets)
    buckets.allreduce()


def average_buffers(model):
    """Replace each floating-point buffer of ``model`` (BatchNorm's running mean and variance) by its
    mean over the ranks, with one ``Allreduce`` for all of them."""
    buffers = [b for b in model.buffers() if np.issubdtype(b.data.dtype, np.floating)]
    if not buffers:
        return
    flat = np.concatenate([b.data.reshape(-1).astype(np.float64) for b in buffers])
    MPI = world.mpi()
    world.comm().Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
    flat /= world.world_size()
    start = 0
    for b in buffers:
        b.data[...] = flat[start:start + b.data.size].reshape(b.data.shape)  # buffers are written directly
        start += b.data.size


def sum_over_ranks(values):
    """The element-wise sum over the ranks of a few numbers (float64), returned on every rank."""
    values = np.array(values, dtype=np.float64)
    MPI = world.mpi()
    world.comm().Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)
    return values


def broadcast_integer(value, root=0):
    """Rank ``root``'s ``value`` (an integer), on every rank."""
    block = np.array([value], dtype=np.int64)
    world.comm().Bcast(block, root=root)
    return int(block[0])
