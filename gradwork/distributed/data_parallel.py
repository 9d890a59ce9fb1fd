"""``DataParallelRun``: what ``fit(..., distributed=True)`` does beyond a single process.

Synchronous data parallelism, as Horovod and PyTorch's ``DistributedDataParallel`` do it: every
rank holds a whole copy of the model and the optimiser, trains on its own shard of each epoch, and
after every backward pass the ranks average their gradients, so every rank takes the same step and
the copies never drift apart::

    start       broadcast rank 0's parameters and buffers       (the copies start equal)
    each epoch  sampler.set_epoch(epoch)                         (a new shuffle, shared out)
    each step   forward, backward on this rank's b examples
                allreduce_gradients                              (the mean over all N·b examples)
                clip, optimizer.step()                           (the same update on every rank)
                sum_over_ranks(loss, metrics, count)             (the logs of the whole step)
    epoch end   average_buffers                                  (BatchNorm's running statistics)
                validation on each rank's shard, sums reduced

With the same seed, the ranks together take exactly the steps of one process whose batch is N·b
(up to the rounding of the sums' order), which ``tests/distributed`` checks to 1e-10.
"""
from gradwork import backend
from gradwork.data.dataloader import DataLoader
from gradwork.data.dataset import Subset
from gradwork.distributed import world
from gradwork.distributed.collectives import (DEFAULT_BUCKET_BYTES, GradientBuckets, average_buffers,
                                              broadcast_integer, broadcast_parameters, sum_over_ranks)
from gradwork.distributed.sampler import DistributedSampler, ShardedLoader
from gradwork.errors import ConfigError


class DataParallelRun:
    """One training run shared by all the ranks: made on every rank at the same point, before the
    first step.

    Args:
        model: the model, whose parameters and buffers are broadcast from rank 0.
        train_loader: a ``DataLoader``; each rank gets its shard of it (``self.train_loader``), with the
            same batch size per rank.
        val_loader: a ``DataLoader`` or None; each rank evaluates its share (``self.val_loader``).
        bucket_bytes: the most bytes of gradients reduced by one ``Allreduce``.
    """

    def __init__(self, model, train_loader, val_loader=None, bucket_bytes=DEFAULT_BUCKET_BYTES):
        on_device = [(name, p.device) for name, p in model.named_parameters() if p.device.type != "cpu"]
        if on_device:  # the collectives hand NumPy buffers to MPI
            name, device = on_device[0]
            raise ConfigError(f"data-parallel training runs on CPUs only, and the model's {name} is on {device}: "
                              "move the model with model.to('cpu')")
        world.init()
        self.model, self.rank, self.size = model, world.rank(), world.world_size()
        self.is_main = self.rank == 0
        broadcast_parameters(model)
        # The shuffle's seed comes from rank 0's generator, so gradwork.manual_seed repeats the run …
        seed = broadcast_integer(int(backend.rng().integers(2 ** 62)) if self.is_main else 0)
        # … and the other ranks draw their dropout masks and augmentations from streams of their own,
        # 2^127 draws apart (PCG64's jump), instead of repeating rank 0's.
        if self.rank:
            backend.set_rng_state(backend.rng().bit_generator.jumped(self.rank).state)
        sampler = DistributedSampler(train_loader.dataset, self.size, self.rank, shuffle=train_loader.shuffle,
                                     seed=seed)
        self.train_loader = ShardedLoader(train_loader, sampler)
        self.val_loader = self._validation_shard(val_loader) if val_loader is not None else None
        self.gradients = GradientBuckets(model.parameters(), bucket_bytes)

    def _validation_shard(self, loader):
        """Every N-th validation example from this rank's own, without padding (nothing waits for
        the others during evaluation, and a repeated example would bias the mean)."""
        n = len(loader.dataset)
        if n < self.size:
            raise ConfigError(f"the validation data has {n} examples, fewer than the {self.size} ranks: give "
                              "each rank at least one, or train without validation data")
        return DataLoader(Subset(loader.dataset, range(self.rank, n, self.size)), loader.batch_size,
                          transform=loader.transform)

    def set_epoch(self, epoch):
        """Before each epoch: this epoch's shuffle."""
        self.train_loader.set_epoch(epoch)

    def average_gradients(self):
        """After ``backward()``: every rank's ``.grad`` becomes the mean over the ranks."""
        self.gradients.allreduce()

    def global_batch(self, n, loss, metrics):
        """The size, mean loss and mean metrics of the whole step (all ranks' batches), from this rank's
        ``n`` examples with mean ``loss`` and ``metrics``: the same numbers on every rank, so every
        rank's callbacks (a NaN guard, early stopping) decide alike."""
        total = sum_over_ranks([n, loss * n, *(m * n for m in metrics)])
        n = int(total[0])
        return n, float(total[1]) / n, [float(s) / n for s in total[2:]]

    def end_epoch(self):
        """After the epoch's last step: one set of BatchNorm running statistics (see ``average_buffers``)."""
        average_buffers(self.model)

    def mean_over_ranks(self, results):
        """Validation results (means over this rank's share) → means over the whole validation set."""
        n = len(self.val_loader.dataset)
        names = list(results)
        total = sum_over_ranks([n, *(results[k] * n for k in names)])
        return {k: float(s) / total[0] for k, s in zip(names, total[1:])}
