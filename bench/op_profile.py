"""Where the time of one training (or inference) step goes, op by op, forward and backward.

    python bench/op_profile.py W2 [--steps 20] [--path fast|reference] [--layers] [--torch]

Runs gradwork's side of a workload from ``bench/run.py`` and times every ``Function``'s forward and
backward (wall clock around each call), the optimiser step, and the rest (Python between the ops,
the graph walk, zero_grad). Prints one line per op, largest first, with its share of the step, so
the next person sees where to work. Timing each call adds a little overhead of its own; the shares,
not the absolute times, are the point. With ``--layers`` each op is split by the shape of its first
input (both passes of a call under its forward's shape), so the two convolutions of W2, or the three
stages of a ResNet, get lines of their own.

With ``--torch`` (PyTorch installed) it then profiles PyTorch's side of the same workload with
``torch.profiler`` and prints its ops the same way (self CPU time per step, largest first), so the two
lists can be read against each other: which op is where the gap is. Run both on a quiet machine, close
together: this machine's speed moves by 10–40% from one minute to the next.
"""
import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import run  # noqa: E402  (bench/run.py: the workloads)
from arguments import positive_int  # noqa: E402

import gradwork as gw  # noqa: E402
from gradwork.autograd.function import Function  # noqa: E402
from gradwork.optim.optimizer import Optimizer  # noqa: E402

totals = collections.defaultdict(float)


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


running = set()  # (object, method) pairs being timed now


def timed(name, method, by_layer=False):
    """``method`` timed into ``totals``; a call made from inside the same object's same method (a fast
    kernel's ``super().forward``, an optimiser's ``super().step``) is counted once, by the outer call.
    With ``by_layer`` a Function's line is named with the shape of its forward's first input."""
    def wrapper(self, *args):
        key = (id(self), method.__name__)
        if key in running:
            return method(self, *args)
        running.add(key)
        label = self.name if name is None else name
        if by_layer and name is None:
            if method.__name__ == "forward":
                self.profiled_shape = tuple(getattr(args[0], "shape", ())) if args else ()
            label = f"{label} {getattr(self, 'profiled_shape', ())}"
        start = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            running.discard(key)
            totals[(label, method.__name__)] += time.perf_counter() - start
    return wrapper


def instrument(by_layer=False):
    """Wrap forward/backward of every Function class (each class once, on its own methods) and step()."""
    import gradwork.kernels as kernels
    for module, _ in kernels.FAST.values():  # load the fast kernels so their classes are wrapped too
        __import__(module)
    for cls in set(all_subclasses(Function)):
        for method in ("forward", "backward"):
            if method in vars(cls):
                setattr(cls, method, timed(None, vars(cls)[method], by_layer))
    for cls in set(all_subclasses(Optimizer)):
        if "step" in vars(cls):
            setattr(cls, "step", timed("optimizer", vars(cls)["step"]))
    Optimizer.step = timed("optimizer", Optimizer.step)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(run.WORKLOADS))
    parser.add_argument("--steps", type=positive_int, default=20)
    parser.add_argument("--path", choices=gw.kernels.PATHS, default="fast")
    parser.add_argument("--layers", action="store_true",
                        help="one line per op and input shape (each layer of a network apart)")
    parser.add_argument("--torch", action="store_true", help="then profile PyTorch's side with torch.profiler")
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()
    description, make_gw, _, _ = run.WORKLOADS[args.workload]
    with gw.kernels.use(args.path):
        step, batch = make_gw()
        step()  # warm-up
        instrument(args.layers)
        totals.clear()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        elapsed = (time.perf_counter() - start) / args.steps
    per_step = {key: value / args.steps for key, value in totals.items()}
    accounted = sum(per_step.values())
    print(f"{args.workload} ({description}), {args.path} path: {elapsed * 1e3:.1f} ms per step "
          f"({batch / elapsed:,.0f} samples/s), {args.steps} steps\n")
    width = max([28] + [len(name) + 1 for name, _ in per_step])
    print(f"{'op':<{width}} {'pass':<9} {'ms/step':>8} {'share':>7}")
    rows = sorted(per_step.items(), key=lambda item: -item[1])
    for (name, method), seconds in rows:
        print(f"{name:<{width}} {method:<9} {seconds * 1e3:>8.2f} {seconds / elapsed:>6.1%}")
    rest = elapsed - accounted
    print(f"{'(the rest: Python, graph)':<{width + 10}} {rest * 1e3:>8.2f} {rest / elapsed:>6.1%}")
    if args.torch:
        torch_profile(args.workload, args.steps)


def torch_profile(workload, steps, rows=15):
    """PyTorch's side of ``workload`` under ``torch.profiler``: self CPU time per step of its busiest ops."""
    if run.torch is None:
        print("\nPyTorch is not installed: nothing to compare with (pip install torch==2.13.0)")
        return
    from torch.profiler import ProfilerActivity, profile
    description, _, make_torch, _ = run.WORKLOADS[workload]
    step, batch = make_torch()
    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = (time.perf_counter() - start) / steps  # with the profiler's own overhead
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:rows]
    print(f"\nPyTorch {run.torch.__version__} ({run.torch.get_num_threads()} threads), the same workload under "
          f"torch.profiler: {elapsed * 1e3:.1f} ms per step with the profiler's overhead\n")
    print(f"{'op (self CPU time)':<48} {'ms/step':>8} {'share':>7}")
    for event in events:
        seconds = event.self_cpu_time_total / 1e6 / steps
        print(f"{event.key[:48]:<48} {seconds * 1e3:>8.2f} {seconds / elapsed:>6.1%}")


if __name__ == "__main__":
    main()
