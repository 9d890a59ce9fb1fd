#!/usr/bin/env bash
# The GPU check of issue 18, prepared to run in one go on a machine with an NVIDIA GPU (about 6 minutes;
# each step has its own time limit). Writes everything it prints under $OUT (default bench/gpu_out):
#   env.txt           GPU, driver, CuPy / NumPy / PyTorch versions
#   pytest_gpu.txt    pytest -m gpu tests/gpu: every op (both kernel paths), 5 optimisers, dropout, checkpoints
#   bench_cuda.txt    bench/run.py --device cuda for W1, W2, W6 (PyTorch CUDA beside it when installed)
#   resnet_epoch.txt  one epoch of ResNet-20 on Fashion-MNIST-sized random data (60,032 images, batch 128)
# Then copy the numbers into bench/RESULTS.md and the README's GPU section.
#
#   bash bench/gpu_check.sh            # from the repository root
#
# CuPy comes from the extra gradwork[cuda] (cupy-cuda12x); a machine that already has CuPy (any CUDA
# build, e.g. cupy-cuda13x) uses it, and one that cannot reach a package index must have it already.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/gpu_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if ! "$PY" -c "import cupy" 2>/dev/null; then
    "$PY" -m pip install -q -e ".[cuda,test]" 2>&1 | tail -3 | tee "$OUT/install.txt"
fi

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
    "$PY" - <<'PY'
import numpy, cupy
print("numpy", numpy.__version__, "| cupy", cupy.__version__, "| CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
try:
    import torch
    print("torch", torch.__version__, "| cuda available:", torch.cuda.is_available())
except ImportError:
    print("torch: not installed")
import gradwork
print("gradwork sees a GPU:", gradwork.backend.cuda_available())
PY
} 2>&1 | tee "$OUT/env.txt"

timeout 270 "$PY" -m pytest -m gpu tests/gpu -q -p no:cacheprovider 2>&1 | tee "$OUT/pytest_gpu.txt"

timeout 150 "$PY" bench/run.py --device cuda --rounds 3 --seconds 1 --only W1 W2 W6 2>&1 | tee "$OUT/bench_cuda.txt"

timeout 150 "$PY" - <<'PY' 2>&1 | tee "$OUT/resnet_epoch.txt"
"""One epoch of ResNet-20 (bench/run.py's W6 network) on 60,032 random 1×28×28 images, batch 128, SGD:
469 steps, wall clock from the first step to the last one finished (after one warm-up step)."""
import sys, time
sys.path.insert(0, "bench")
import run
run.DEVICE = "cuda"
steps = 469
for name, make in (("gradwork", lambda: run.train_step_gradwork(run.resnet20, 128)),
                   ("pytorch", lambda: run.train_step_torch(run.resnet20, 128))):
    if name == "pytorch" and (run.torch is None or not run.torch.cuda.is_available()):
        print("pytorch: no CUDA build here"); continue
    step, batch = make()
    step(); run.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    run.synchronize()
    seconds = time.perf_counter() - start
    print(f"{name}: one epoch of ResNet-20 ({steps} steps of {batch}) in {seconds:.1f} s "
          f"({steps * batch / seconds:,.0f} images/s); target < 60 s")
PY
echo "outputs in $OUT"
