"""Data-parallel training over MPI on this machine, and its extension on paper to many machines.

    python bench/distributed.py [--rounds 5] [--seconds 2] [--only throughput epoch allreduce paper]

throughput  W1 (MLP 784-256-256-10) and W2 (2-conv CNN) training steps, as bench/run.py defines them:
            1 process × 2 BLAS threads (batch 128), 1 process × 1 thread (batch 128), 2 ranks × 1 thread with
            batch 64 each (the same global batch of 128: the same training) and with batch 128 each (global
            256). Samples/s over all ranks, and per step the time in the gradient Allreduce, measured inside
            training (it includes waiting for the slower rank) and alone after a Barrier.
epoch       one Fashion-MNIST epoch of the README's MLP with the gradwork command: 1 process × 2 threads and
            × 1 thread (OPENBLAS_NUM_THREADS=1), batch 64, against --workers 2 with batch 32 each (global 64) and
            with batch 64 each (global 128); the epoch's own seconds from the progress line.
allreduce   Allreduce time against message size on 2 local ranks (shared memory): latency and bandwidth.
paper       the bundled models' parameter counts and measured 1-thread step times against a ring Allreduce
            2·(N−1)/N · bytes / bandwidth + 2·(N−1) · latency on two assumed networks, for N = 8 and 64
            machines, and the N where a fixed global batch stops getting faster.

Every configuration runs in fresh processes (mpiexec -n 2, or one plain process), in interleaved rounds so
that all of them see the same machine load; medians over the rounds. Needs pip install "gradwork[mpi]" and,
for `epoch`, Fashion-MNIST in /usr/share/datasets/fashion-mnist (or ~/.gradwork/data).
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
os.environ["GRADWORK_BENCH_NO_TORCH"] = "1"  # bench/run.py's models without importing PyTorch
sys.path.insert(0, HERE)
from arguments import positive_float, positive_int  # noqa: E402  (bench/arguments.py)

MPIEXEC = os.path.join(os.path.dirname(sys.executable), "mpiexec")
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))


# ---------------------------------------------------------------------------------------------- worker side

def build(workload, batch):
    """Model, optimiser and one batch of W1 or W2 (bench/run.py's definitions)."""
    import gradwork as gw
    from gradwork import nn, optim
    from run import cnn_layers, gradwork_mlp, image_data, mlp_data

    if workload == "W1":
        model, (x, y) = gradwork_mlp(), mlp_data(batch)
    else:
        gw.manual_seed(0)
        model, (x, y) = nn.Sequential(*cnn_layers(nn)), image_data(batch)
    return model, optim.SGD(model.parameters(), lr=0.01), gw.Tensor(x), y


def worker(workload, batch, seconds, threads):
    """One configuration, run as every rank of this MPI job: prints one JSON line on rank 0."""
    import gradwork as gw
    import gradwork.nn.functional as F
    from gradwork import distributed

    gw.backend.reuse_freed_memory()
    comm = distributed.init(blas_threads=threads)
    size, rank = comm.Get_size(), comm.Get_rank()
    model, opt, x, y = build(workload, batch)
    buckets = distributed.GradientBuckets(model.parameters())
    in_allreduce = []

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        if size > 1:
            start = time.perf_counter()
            buckets.allreduce()
            in_allreduce.append(time.perf_counter() - start)
        opt.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(3):
        step()
    # Every rank must take the same number of steps: rank 0's estimate decides.
    steps = distributed.collectives.broadcast_integer(max(5, int(seconds / ((time.perf_counter() - start) / 3))))
    del in_allreduce[:]
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = np.array([time.perf_counter() - start])
    MPI = distributed.world.mpi()
    comm.Allreduce(MPI.IN_PLACE, elapsed, op=MPI.MAX)  # the slowest rank's time is the step's
    elapsed = float(elapsed[0])
    alone = []
    if size > 1:
        for _ in range(20):
            comm.Barrier()
            t = time.perf_counter()
            buckets.allreduce()
            alone.append(time.perf_counter() - t)
    if rank == 0:
        print(json.dumps({"samples_per_s": size * batch * steps / elapsed, "step_ms": 1e3 * elapsed / steps,
                          "allreduce_ms": 1e3 * statistics.median(in_allreduce) if in_allreduce else 0.0,
                          "allreduce_alone_ms": 1e3 * statistics.median(alone) if alone else 0.0,
                          "gradient_bytes": buckets.nbytes}), flush=True)


def allreduce_worker(sizes, repeats=30):
    """Median Allreduce time of float32 messages of each size (bytes) on this job's ranks."""
    from gradwork import distributed
    comm = distributed.init()
    MPI = distributed.world.mpi()
    results = {}
    for nbytes in sizes:
        buffer = np.ones(max(1, nbytes // 4), np.float32)
        times = []
        for _ in range(repeats):
            comm.Barrier()
            t = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(time.perf_counter() - t)
        results[nbytes] = statistics.median(times)
    if comm.Get_rank() == 0:
        print(json.dumps(results), flush=True)


# ---------------------------------------------------------------------------------------------- driver side

def launch(ranks, *argv, timeout=600):
    """This script's worker mode as ``ranks`` processes; the JSON it printed."""
    command = [sys.executable, __file__, *map(str, argv)]
    if ranks > 1:
        command = [MPIEXEC, "-n", str(ranks), *command]
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


THROUGHPUT_CONFIGS = [  # (label, ranks, BLAS threads per rank, batch per rank)
    ("1 process × 2 threads, batch 128", 1, 2, 128),
    ("1 process × 1 thread, batch 128", 1, 1, 128),
    ("2 ranks × 1 thread, batch 64 each (global 128)", 2, 1, 64),
    ("2 ranks × 1 thread, batch 128 each (global 256)", 2, 1, 128),
]


def throughput(rounds, seconds):
    print("## W1 and W2 training throughput\n")
    print("| workload | configuration | samples/s | step ms | Allreduce ms/step (in training) | "
          "Allreduce ms alone | gradient MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for workload in ("W1", "W2"):
        results = {label: [] for label, *_ in THROUGHPUT_CONFIGS}
        for _ in range(rounds):
            for label, ranks, threads, batch in THROUGHPUT_CONFIGS:
                results[label].append(launch(ranks, "--worker", workload, batch, seconds, threads))
        for label, *_ in THROUGHPUT_CONFIGS:
            rows = results[label]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(f"| {workload} | {label} | {med['samples_per_s']:,.0f} | {med['step_ms']:.2f} | "
                  f"{med['allreduce_ms']:.3f} | {med['allreduce_alone_ms']:.3f} | {med['gradient_bytes'] / 1e6:.2f} |",
                  flush=True)
    print()


EPOCH_CONFIGS = [  # (label, extra arguments, BLAS threads of a single process)
    ("1 process × 2 threads, batch 64", ["--batch-size", "64"], None),
    ("1 process × 1 thread, batch 64", ["--batch-size", "64"], "1"),
    ("2 ranks × 1 thread, batch 32 each (global 64)", ["--batch-size", "32", "--workers", "2"], None),
    ("2 ranks × 1 thread, batch 64 each (global 128)", ["--batch-size", "64", "--workers", "2"], None),
]


def one_epoch(extra, threads):
    env = dict(ENV, OPENBLAS_NUM_THREADS=threads) if threads else ENV
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "gradwork", "train", "--dataset", "fashion-mnist", "--model", "mlp",
                   "--dropout", "0.2", "--epochs", "1", "--verbose", "2", "--out", os.path.join(folder, "run"), *extra]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, cwd=folder)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    seconds = float(re.search(r"^epoch 1/1 .* ([\d.]+)s$", done.stderr, re.M).group(1))
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", done.stdout).group(1))
    return seconds, accuracy


def epoch(rounds):
    print("## One Fashion-MNIST epoch, MLP 784-256-128-10 (dropout 0.2), 48,000 training examples\n")
    print("`gradwork train --dataset fashion-mnist --model mlp --dropout 0.2 --epochs 1 --verbose 2` plus:\n")
    results = {label: [] for label, *_ in EPOCH_CONFIGS}
    for _ in range(rounds):
        for label, extra, threads in EPOCH_CONFIGS:
            results[label].append(one_epoch(extra, threads))
    print("| configuration | options | epoch seconds (median) | all rounds | test accuracy after 1 epoch |")
    print("|---|---|---:|---|---:|")
    for label, extra, _ in EPOCH_CONFIGS:
        times = [t for t, _ in results[label]]
        accuracy = statistics.median(a for _, a in results[label])
        print(f"| {label} | `{' '.join(extra)}` | {statistics.median(times):.2f} | "
              f"{', '.join(f'{t:.2f}' for t in times)} | {accuracy:.4f} |")
    print()


ALLREDUCE_SIZES = [8, 1024, 65536, 1 << 20, 4 << 20, 16 << 20, 64 << 20]


def allreduce(rounds):
    print("## Allreduce on 2 local ranks (MPICH, shared memory), float32, median of 30 × rounds\n")
    rows = [launch(2, "--allreduce-worker") for _ in range(rounds)]
    times = {n: statistics.median(r[str(n)] for r in rows) for n in ALLREDUCE_SIZES}
    print("| bytes | µs | GB/s (bytes / time) |")
    print("|---:|---:|---:|")
    for n, t in times.items():
        print(f"| {n:,} | {t * 1e6:.1f} | {n / t / 1e9:.2f} |")
    print()
    return times


# The networks of the paper extension: assumptions, not measurements (typical published figures).
NETWORKS = {"10 GbE (TCP)": (1.25e9, 25e-6), "100 Gb/s InfiniBand": (12.0e9, 2e-6)}
PAPER_MODELS = [  # (name, input shape)
    ("mlp", (1, 28, 28)), ("lenet5", (1, 28, 28)), ("simplecnn", (1, 28, 28)), ("resnet-small", (1, 28, 28)),
    ("vggnet", (1, 28, 28)), ("alexnet", (3, 32, 32)), ("resnet18", (3, 32, 32)), ("vgg16", (3, 32, 32)),
]
PER_RANK_BATCH, GLOBAL_BATCH = 32, 256


def ring_allreduce(nbytes, n, bandwidth, latency):
    """Ring Allreduce (reduce-scatter then allgather): each rank sends and receives 2·(N−1)/N of the
    message, in 2·(N−1) steps that each pay the latency once."""
    return 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * latency


def step_seconds(name, shape, batch, steps=3):
    """One thread's training step of a bundled model at ``batch`` (median of ``steps`` after one warm-up)."""
    import gradwork as gw
    import gradwork.nn.functional as F
    from gradwork import models, optim

    gw.manual_seed(0)
    model = models.build_model(name, shape, 10)
    opt = optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x, y = gw.Tensor(rng.random((batch, *shape), dtype=np.float32)), rng.integers(0, 10, batch)
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return model.num_parameters(), statistics.median(times[1:])


def paper():
    from threadpoolctl import threadpool_limits
    threadpool_limits(1, user_api="blas")
    print(f"## On paper: N machines, one rank each (1 thread), per-rank batch {PER_RANK_BATCH}\n")
    print("Compute: one 1-thread training step measured here at the per-rank batch. Communication: ring Allreduce "
          "of the float32 gradients, 2·(N−1)/N·bytes/bandwidth + 2·(N−1)·latency, after backward (no overlap). "
          "Networks assumed: " + "; ".join(f"{k}: {b / 1e9:g} GB/s, {a * 1e6:g} µs" for k, (b, a) in NETWORKS.items())
          + ".\n")
    head = " | ".join(f"Allreduce ms N={n} / efficiency, {k}" for k in NETWORKS for n in (8, 64))
    print(f"| model | input | parameters | MB | step ms (batch {PER_RANK_BATCH}) | {head} |")
    print("|---|---|---:|---:|---:|" + "---:|" * (2 * len(NETWORKS)))
    measured = {}
    for name, shape in PAPER_MODELS:
        params, t = step_seconds(name, shape, PER_RANK_BATCH)
        measured[name] = (params, t)
        nbytes = 4 * params
        cells = []
        for bandwidth, latency in NETWORKS.values():
            for n in (8, 64):
                comm = ring_allreduce(nbytes, n, bandwidth, latency)
                cells.append(f"{comm * 1e3:.2f} / {t / (t + comm):.0%}")
        print(f"| {name} | {'×'.join(map(str, shape))} | {params:,} | {nbytes / 1e6:.1f} | {t * 1e3:.1f} | "
              f"{' | '.join(cells)} |", flush=True)
    print(f"\nA fixed global batch of {GLOBAL_BATCH} shared by N machines (strong scaling; compute taken as "
          f"proportional to the batch, which flatters small per-rank batches): speed-up "
          f"S(N) = t({GLOBAL_BATCH}) / (t({GLOBAL_BATCH})/N + Allreduce(N)); the N where it peaks.\n")
    print("| model | " + " | ".join(f"{k}: S(8), S(64), best N (S)" for k in NETWORKS) + " |")
    print("|---|" + "---|" * len(NETWORKS))
    for name, (params, t) in measured.items():
        whole = t * GLOBAL_BATCH / PER_RANK_BATCH
        cells = []
        for bandwidth, latency in NETWORKS.values():
            def speedup(n):
                return whole / (whole / n + (ring_allreduce(4 * params, n, bandwidth, latency) if n > 1 else 0))
            best = max(range(1, GLOBAL_BATCH + 1), key=speedup)
            cells.append(f"{speedup(8):.1f}, {speedup(64):.1f}, {best} ({speedup(best):.1f})")
        print(f"| {name} | {' | '.join(cells)} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--seconds", type=positive_float, default=2.0, help="timed seconds per configuration and round")
    parser.add_argument("--only", nargs="*", default=["throughput", "epoch", "allreduce", "paper"])
    parser.add_argument("--worker", nargs=4, metavar=("WORKLOAD", "BATCH", "SECONDS", "THREADS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--allreduce-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload, batch, seconds, threads = args.worker
        return worker(workload, int(batch), float(seconds), int(threads))
    if args.allreduce_worker:
        return allreduce_worker(ALLREDUCE_SIZES)
    from importlib.metadata import version  # (no MPI in this process: the configurations start their own)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, mpi4py {version('mpi4py')}, MPICH {version('mpich')} (pip wheel)")
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}; {args.rounds} interleaved rounds\n")
    if "throughput" in args.only:
        throughput(args.rounds, args.seconds)
    if "epoch" in args.only:
        epoch(args.rounds)
    if "allreduce" in args.only:
        allreduce(args.rounds)
    if "paper" in args.only:
        paper()
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
