"""Where the time of one training (or inference) step goes, op by op, forward and backward.

    python bench/op_profile.py W2 [--steps 20] [--path fast|reference]

Runs gradwork's side of a workload from ``bench/run.py`` and times every ``Function``'s forward and
backward (wall clock around each call), the optimiser step, and the rest (Python between the ops,
the graph walk, zero_grad). Prints one line per op, largest first, with its share of the step, so
the next person sees where to work. Timing each call adds a little overhead of its own; the shares,
not the absolute times, are the point.
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import run  # noqa: E402  (bench/run.py: the workloads)

import gradwork as gw  # noqa: E402
from gradwork.autograd.function import Function  # noqa: E402
from gradwork.optim.optimizer import Optimizer  # noqa: E402

totals = collections.defaultdict(float)


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def timed(name, method):
    def wrapper(self, *args):
        start = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            totals[(self.name if name is None else name, method.__name__)] += time.perf_counter() - start
    return wrapper


def instrument():
    """Wrap forward/backward of every Function class (each class once, on its own methods) and step()."""
    import gradwork.kernels as kernels
    for module, _ in kernels.FAST.values():  # load the fast kernels so their classes are wrapped too
        __import__(module)
    for cls in set(all_subclasses(Function)):
        for method in ("forward", "backward"):
            if method in vars(cls):
                setattr(cls, method, timed(None, vars(cls)[method]))
    for cls in set(all_subclasses(Optimizer)):
        if "step" in vars(cls):
            setattr(cls, "step", timed("optimizer", vars(cls)["step"]))
    Optimizer.step = timed("optimizer", Optimizer.step)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(run.WORKLOADS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--path", choices=gw.kernels.PATHS, default="fast")
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()
    description, make_gw, _, _ = run.WORKLOADS[args.workload]
    with gw.kernels.use(args.path):
        step, batch = make_gw()
        step()  # warm-up
        instrument()
        totals.clear()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        elapsed = (time.perf_counter() - start) / args.steps
    per_step = {key: value / args.steps for key, value in totals.items()}
    accounted = sum(per_step.values())
    print(f"{args.workload} ({description}), {args.path} path: {elapsed * 1e3:.1f} ms per step "
          f"({batch / elapsed:,.0f} samples/s), {args.steps} steps\n")
    print(f"{'op':<28} {'pass':<9} {'ms/step':>8} {'share':>7}")
    rows = sorted(per_step.items(), key=lambda item: -item[1])
    for (name, method), seconds in rows:
        print(f"{name:<28} {method:<9} {seconds * 1e3:>8.2f} {seconds / elapsed:>6.1%}")
    rest = elapsed - accounted
    print(f"{'(the rest: Python, graph)':<38} {rest * 1e3:>8.2f} {rest / elapsed:>6.1%}")


if __name__ == "__main__":
    main()
