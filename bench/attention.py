"""Scaled dot-product attention alone, forward + backward: gradwork's reference composition, its fused
kernel (gradwork/kernels/attention.py) and PyTorch's, alternating in one process.

    python bench/attention.py [--rounds 5] [--length 64 256]

Heads as W7 makes them (batch 32, 4 heads, head size 32, views of a (batch, length, 128) projection);
median milliseconds per forward + backward over the rounds.
"""
import argparse
import statistics
import time

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F
from arguments import positive_int  # bench/arguments.py (this script's own folder is on the path)

try:
    import torch
except ImportError:
    torch = None


def per_call(function, seconds=0.5):
    """Milliseconds per call, over as many calls as fit in ``seconds`` after one warm-up call."""
    function()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function()
        n += 1
    return (time.perf_counter() - start) / n * 1e3


def steps(length, batch=32, heads=4, head_size=32):
    rng = np.random.default_rng(0)

    def heads_of_a_projection():  # (B, T, E) → (B, heads, T, d): a view, as MultiheadAttention makes them
        projection = rng.standard_normal((batch, length, heads * head_size)).astype(np.float32)
        return projection.reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)

    arrays = [heads_of_a_projection() for _ in range(3)]
    grad = rng.standard_normal((batch, heads, length, head_size)).astype(np.float32)
    leaves = [gw.tensor(a, requires_grad=True) for a in arrays]
    for leaf, a in zip(leaves, arrays):
        leaf.data = a  # keep the views' layout

    def gradwork_step(path):
        def step():
            with gw.kernels.use(path):
                F.scaled_dot_product_attention(*leaves).backward(gw.tensor(grad))
        return step

    result = {"reference": gradwork_step("reference"), "fused": gradwork_step("fast")}
    if torch is not None:
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        torch_grad = torch.from_numpy(grad)
        result["pytorch"] = lambda: torch.nn.functional.scaled_dot_product_attention(*tensors).backward(torch_grad)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--length", type=positive_int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()
    for length in args.length:
        candidates = steps(length)
        times = {name: [] for name in candidates}
        for _ in range(args.rounds):
            for name, step in candidates.items():
                time.sleep(0.3)  # let the other library's BLAS threads go to sleep
                times[name].append(per_call(step))
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"length {length}: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in medians.items())
              + f"; fused/reference {medians['reference'] / medians['fused']:.2f}× faster")


if __name__ == "__main__":
    main()
