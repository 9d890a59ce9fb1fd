"""A/B of the per-op cost of device dispatch: run it once per source tree, alternating trees.

    GW_ROOT=/path/to/old/tree python bench/device_overhead.py
    GW_ROOT=/path/to/this/tree python bench/device_overhead.py

Prints the minimum time of 2,000 calls of ``a + b`` on 10×10 tensors, of a W1 training step and of a
W2 training step (the workloads of ``bench/run.py``), all from the tree named by GW_ROOT.
"""
import os
import sys
import timeit

root = os.environ.get("GW_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, root)
sys.path.insert(0, os.path.join(root, "bench"))

import numpy as np  # noqa: E402

import gradwork as gw  # noqa: E402
import run  # noqa: E402  (bench/run.py of that tree)

a = gw.Tensor(np.ones((10, 10), np.float32), requires_grad=True)
b = gw.Tensor(np.ones((10, 10), np.float32))
add = min(timeit.repeat(lambda: a + b, number=2000, repeat=15)) / 2000 * 1e6
step, _ = run.w1_gradwork()
step()
w1 = min(timeit.repeat(step, number=5, repeat=15)) / 5 * 1e3
step, _ = run.train_step_gradwork(run.cnn_layers, 128)
step()
w2 = min(timeit.repeat(step, number=2, repeat=6)) / 2 * 1e3
print(f"{root}: a+b {add:.2f} us; W1 step {w1:.2f} ms; W2 step {w2:.1f} ms", flush=True)
