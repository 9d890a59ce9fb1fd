"""Run by tests/distributed under ``mpiexec -n N python mpi_script.py MODE OUT``: each mode trains or
exchanges something across the ranks and rank 0 writes what the test checks to OUT (an .npz file)."""
import os
import signal
import sys

import numpy as np

import gradwork as gw
from gradwork import distributed, nn, optim, train

N_EXAMPLES, FEATURES, CLASSES = 256, 6, 3


def data(n=N_EXAMPLES, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, FEATURES))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)


def mlp():
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, CLASSES))


def fit_mlp(batch_size, shuffle, **options):
    """SGD with momentum and gradient clipping, 3 epochs, float64: the run every rank count must repeat."""
    gw.manual_seed(0)
    model = mlp().double()
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    history = train.fit(model, data(), loss="cross_entropy", optimizer=opt, epochs=3, val_data=data(50, 2),
                        batch_size=batch_size, shuffle=shuffle, clip_grad_norm=0.5, verbose=0, **options)
    return model, history


def gathered(array):
    """Every rank's copy of ``array``, stacked (rank 0 first)."""
    comm = distributed.init()
    out = np.empty((comm.Get_size(), *np.shape(array)), dtype=np.float64)
    comm.Allgather(np.ascontiguousarray(array, dtype=np.float64), out)
    return out


def save(out, **arrays):
    if distributed.is_main():
        np.savez(out, **arrays)


def equivalence(out, batch_size):
    gw.set_default_dtype(np.float64)
    results = {}
    for shuffle in (True, False):
        model, history = fit_mlp(batch_size, shuffle, distributed=True)
        for name, p in model.state_dict().items():
            copies = gathered(p)
            results[f"{shuffle}/{name}"] = copies[0]
            results[f"{shuffle}/{name}/spread"] = np.abs(copies - copies[0]).max()  # 0: the ranks agree
        for key, values in history.history.items():
            results[f"{shuffle}/history/{key}"] = np.array(values)
    save(out, **results)


def collectives(out):
    """Buckets, broadcast, buffer averaging and a BatchNorm model trained across the ranks."""
    rank = distributed.rank()
    results = {}
    # Gradients: three parameters in buckets of at most 40 bytes (several buckets), one without a gradient.
    params = [gw.Tensor(np.zeros(s), requires_grad=True) for s in (3, 4, 2)]
    params[0].grad = np.full(3, rank + 1.0)
    params[1].grad = np.arange(4.0) * (rank + 1)
    buckets = distributed.GradientBuckets(params, bucket_bytes=40)
    buckets.allreduce()
    results["buckets"] = len(buckets.buckets)
    results["grads"] = np.concatenate([p.grad for p in params])
    # Broadcast: every rank starts from rank 0's weights, whatever seed it used.
    gw.manual_seed(rank)
    model = nn.Sequential(nn.Linear(FEATURES, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, CLASSES))
    distributed.broadcast_parameters(model)
    results["broadcast_spread"] = max(np.abs(gathered(p.data) - p.data).max() for p in model.parameters())
    # Buffers: rank r's running mean r + 1 becomes the mean over the ranks.
    model[1].running_mean.data[...] = rank + 1
    distributed.average_buffers(model)
    results["running_mean"] = model[1].running_mean.data.copy()
    results["sum"] = distributed.sum_over_ranks([1, rank])
    # A BatchNorm model trained on 2 ranks: one set of running statistics and weights at the end.
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = train.fit(model, data(), loss="cross_entropy", optimizer=opt, epochs=2, batch_size=32,
                        val_data=data(50, 2), verbose=0, distributed=True)
    spreads = [np.abs(gathered(t.data) - t.data).max() for t in [*model.parameters(), *model.buffers()]]
    results["trained_spread"] = max(spreads)
    results["val_loss"] = history.history["val_loss"][-1]
    results["train_accuracy"] = history.history["accuracy"][-1]
    save(out, **results)


def failing(out, how):
    """Rank 1 fails at its third step (an exception, or SIGKILL) while rank 0 waits in the Allreduce."""
    class Fail(train.Callback):
        def on_batch_end(self, state, logs):
            if distributed.rank() == 1 and state.step == 2:
                if how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("the disk caught fire")

    def main():
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        train.fit(model, data(), loss="cross_entropy", optimizer=opt, epochs=50, batch_size=8, callbacks=[Fail()],
                  verbose=0, distributed=True)
    distributed.run_rank(main, name="mpi_script")


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "equivalence":
        equivalence(out, int(sys.argv[3]))
    elif mode == "collectives":
        collectives(out)
    else:
        failing(out, mode)
