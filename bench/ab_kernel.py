"""A/B of one fast-kernel file: the version at a git revision against the working tree, in one process.

    python bench/ab_kernel.py gradwork/kernels/conv.py --against HEAD~1 W2 W5 [--rounds 12] [--seconds 0.6]
    python bench/ab_kernel.py gradwork/kernels/activations.py --against reference W2

With ``--against reference`` the old side is the reference ops themselves (the fast path without this
file's kernels), which measures what a kernel gains, also one that has no earlier version.

Loads the file as it was at ``--against`` beside the current one, and for each workload alternates
rounds of the old and the new kernel classes (every ``gw.kernels.FAST`` entry defined in that file is
swapped), reversing the order every round. Both versions see the same machine moment, so the median of
the per-round ratios new/old is steadier than two separate runs of ``bench/run.py`` on a machine whose
speed moves by 10–40% from one minute to the next. Prints that median and every round's ratio.
"""
import argparse
import os
import subprocess
import sys
import types

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import run  # noqa: E402  (bench/run.py: the workloads)
from arguments import positive_float, positive_int  # noqa: E402

import gradwork as gw  # noqa: E402
import gradwork.kernels as kernels  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def load_both(path, revision):
    """(old module, new module) for the kernel file ``path`` (relative to the repository)."""
    name = os.path.splitext(path)[0].replace("/", ".")
    new = __import__(name, fromlist=["_"])
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    old = types.ModuleType(name + "_at_" + revision)
    old.__file__ = path
    exec(compile(source, f"{path}@{revision}", "exec"), old.__dict__)  # noqa: S102 — our own file from git
    return old, new


def reference_of(key):
    """The reference op a ``gw.kernels.FAST`` key names ("gradwork.ops.activations.ReLUFunction")."""
    module, _, name = key.rpartition(".")
    return getattr(__import__(module, fromlist=["_"]), name)


def entries(module_name):
    """The FAST table's keys whose kernel lives in ``module_name``, with their class names."""
    return [(key, cls) for key, (module, cls) in kernels.FAST.items() if module == module_name]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="the kernel file, e.g. gradwork/kernels/conv.py")
    parser.add_argument("workloads", nargs="+", choices=sorted(run.WORKLOADS))
    parser.add_argument("--against", default="HEAD",
                        help="git revision of the old version (default HEAD), or 'reference' for the reference ops")
    parser.add_argument("--rounds", type=positive_int, default=12)
    parser.add_argument("--seconds", type=positive_float, default=0.6)
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()
    if args.against == "reference":
        new = __import__(os.path.splitext(args.path)[0].replace("/", "."), fromlist=["_"])
        old = types.SimpleNamespace(**{cls: reference_of(key) for key, cls in entries(new.__name__)})
    else:
        old, new = load_both(args.path, args.against)
    swapped = entries(new.__name__)
    for module, _ in kernels.FAST.values():  # load every kernel, so helper modules are found below
        __import__(module)
    # A helper file (no kernel of its own, e.g. conv_shifted.py) is swapped where kernels refer to it.
    users = [] if args.against == "reference" else [
             (module, attribute) for module in list(sys.modules.values())
             if getattr(module, "__name__", "").startswith("gradwork.kernels")
             for attribute, value in vars(module).items() if value is new]
    if not swapped and not users:
        parser.error(f"{args.path} defines no kernel of gw.kernels.FAST and no kernel module uses it")
    versions = {"old": old, "new": new}

    def select(label):
        for key, cls in swapped:
            kernels._loaded[reference_of(key)] = getattr(versions[label], cls)
        for module, attribute in users:
            setattr(module, attribute, versions[label])

    names = [cls for _, cls in swapped] + [f"{module.__name__}.{attribute}" for module, attribute in users]
    print(f"{args.path}: {args.against} (old) against the working tree (new); swapping {', '.join(names)}")
    for workload in args.workloads:
        steps = {}
        for label in versions:
            select(label)
            steps[label] = run.WORKLOADS[workload][1]()
        ratios = []
        for index in range(args.rounds):
            rates = {}
            for label in (("old", "new") if index % 2 == 0 else ("new", "old")):
                select(label)
                step, batch = steps[label]
                rates[label] = run.time_round(step, batch, args.seconds)
            ratios.append(rates["new"] / rates["old"])
        print(f"{workload}: new/old {np.median(ratios):.3f} (rounds: {' '.join(f'{r:.2f}' for r in ratios)})",
              flush=True)


if __name__ == "__main__":
    main()
