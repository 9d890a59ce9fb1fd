"""bench/op_profile.py: the per-op profile of a workload's step, and its per-layer split (--layers)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def profile(*arguments):
    """The script's output (in a child process: it wraps every Function class for good)."""
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "op_profile.py"), *arguments],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_op_gets_one_line_per_pass_with_its_share():
    out = profile("W1", "--steps", "2")
    assert "W1 (MLP" in out and "samples/s" in out
    ops = [line.split()[:2] for line in out.splitlines()[3:] if line and not line.startswith("(the rest")]
    assert ["linear", "forward"] in ops and ["linear", "backward"] in ops and ["optimizer", "step"] in ops
    assert len(ops) == len(set(map(tuple, ops)))  # one line each


def test_layers_split_an_op_by_its_input_shape_in_both_passes():
    out = profile("W1", "--steps", "2", "--layers")
    lines = [line for line in out.splitlines() if line.startswith("linear")]
    for shape in ("(128, 784)", "(128, 256)"):  # W1's layers: 784→256, 256→256, 256→10
        assert any(shape in line and "forward" in line for line in lines), out
        assert any(shape in line and "backward" in line for line in lines), out
