"""bench/compiled_loops.py: every use of a compiled loop timed against the NumPy kernel it replaces."""
import os
import re
import subprocess
import sys

import pytest

from gradwork.kernels import jit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "compiled_loops.py")


def run_script(*arguments, **environment):
    return subprocess.run([sys.executable, SCRIPT, *arguments], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **environment})


@pytest.mark.skipif(not jit.available(), reason="Numba is not installed: no compiled loops to time")
def test_every_compiled_use_gets_a_line_with_both_times_and_their_ratio():
    done = run_script("--rounds", "1", "--calls", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rows = [line for line in lines
            if line.startswith(("max_pool2d", "avg_pool2d", "batch_norm", "layer_norm", "conv2d depthwise",
                                "gelu", "sigmoid", "silu", "relu", "softmax", "log_softmax", "cross_entropy",
                                "SparseAdam"))]
    assert len(rows) == 26, done.stdout
    for row in rows:
        numbers = re.search(r"\s(\d+\.\d{3})\s+(\d+\.\d{3})\s+(\d+\.\d{2})×(  SLOWER)?$", row)
        assert numbers and float(numbers[1]) > 0 and float(numbers[2]) > 0, row
        assert (numbers[4] is not None) == (float(numbers[2]) >= float(numbers[1])), row  # flagged iff not faster
    assert "forward with winners" in done.stdout
    assert re.fullmatch(r"every compiled use faster than NumPy \(26 cases\)"
                        r"|\d+ of 26 compiled uses no faster than NumPy", lines[-1]), lines[-1]

def test_without_numba_it_says_so_in_one_line():
    done = run_script("--rounds", "1", NUMBA_DISABLE_JIT="1")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        'compiled_loops.py: Numba is not installed (pip install -e ".[jit]"): there are no compiled loops to measure']


def test_a_bad_count_is_refused_by_its_option():
    done = run_script("--rounds", "0")
    assert done.returncode == 2 and "argument --rounds: expected a whole number ≥ 1, got 0" in done.stderr
