"""Peak resident memory of a process that trains W2 (the benchmark's CNN) for a few hundred steps,
for gradwork and for PyTorch, each in a process of its own.

    python bench/memory.py [--steps 200] [--framework gradwork|torch|both]

Each framework runs in a fresh child process (so one's allocations never count against the other),
which trains W2 and reports its peak resident set size (``ru_maxrss``). The gradwork process never
imports PyTorch.
"""
import argparse
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from arguments import positive_int  # noqa: E402  (bench/arguments.py)


def measure(framework, steps):
    """Train W2 for ``steps`` steps in this process; return the peak resident memory in MiB."""
    if framework == "gradwork":
        os.environ["GRADWORK_BENCH_NO_TORCH"] = "1"
    import run  # noqa: E402  (the benchmark's workloads)
    if framework == "gradwork":
        run.gw.backend.reuse_freed_memory()  # as bench/run.py and the gradwork command do
        step, batch = run.train_step_gradwork(run.cnn_layers, 128)
    else:
        step, batch = run.train_step_torch(run.cnn_layers, 128)
    for _ in range(steps):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=200)
    parser.add_argument("--framework", choices=("gradwork", "torch", "both"), default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f"{measure(args.framework, args.steps):.0f}")
        return
    frameworks = ("gradwork", "torch") if args.framework == "both" else (args.framework,)
    for framework in frameworks:
        result = subprocess.run([sys.executable, __file__, "--child", "--framework", framework, "--steps",
                                 str(args.steps)], capture_output=True, text=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"{framework:<9} could not run: {last}")
            continue
        print(f"{framework:<9} W2 training, {args.steps} steps of batch 128: peak resident memory "
              f"{float(result.stdout.strip()):.0f} MiB")


if __name__ == "__main__":
    main()
