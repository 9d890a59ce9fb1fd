"""Peak resident memory of a process that trains W2 (the benchmark's CNN) for a few hundred steps.

    python bench/memory.py [--steps 200]

Runs gradwork only (PyTorch is not imported), and prints the peak resident set size.
"""
import argparse
import os
import resource
import sys

os.environ["GRADWORK_BENCH_NO_TORCH"] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import run  # noqa: E402  (the benchmark's workloads)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    run.gw.backend.reuse_freed_memory()  # as bench/run.py and the gradwork command do
    step, batch = run.train_step_gradwork(run.cnn_layers, 128)
    for _ in range(args.steps):
        step()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"W2 training, {args.steps} steps of batch {batch}: peak resident memory {peak_mib:.0f} MiB (target < 400 MiB)")


if __name__ == "__main__":
    main()
