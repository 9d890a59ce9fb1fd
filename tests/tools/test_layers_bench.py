"""bench/layers.py: single layers timed against PyTorch (gradwork alone where PyTorch is not installed)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "layers.py")


def run_script(*arguments):
    return subprocess.run([sys.executable, SCRIPT, *arguments], capture_output=True, text=True, timeout=300)


def test_each_layer_asked_for_gets_a_line_with_its_time():
    done = run_script("--only", "ReLU", "AvgPool2d-2", "BatchNorm2d-eval", "CrossEntropy-10", "--rounds", "1",
                      "--seconds", "0.01")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()
            if line.split() and line.split()[0] in ("ReLU", "AvgPool2d-2", "BatchNorm2d-eval", "CrossEntropy-10")}
    assert list(rows) == ["ReLU", "AvgPool2d-2", "BatchNorm2d-eval", "CrossEntropy-10"], done.stdout
    for row in rows.values():  # gradwork's ms, then (with PyTorch installed) PyTorch's and the ratio
        times = re.search(r"\)\s+(\d+\.\d\d)(\s+(\d+\.\d\d)\s+(\d+\.\d\d)×)?$", row)
        assert times and float(times[1]) > 0, row
    assert ("PyTorch is not installed" in done.stdout) == (times[2] is None)


def test_list_names_every_layer_and_an_unknown_one_is_refused():
    listed = run_script("--list")
    assert listed.returncode == 0, listed.stderr
    assert "Conv2d-16            Conv2d(16, 16, 3, padding=1) on (128, 16, 28, 28)" in listed.stdout
    assert "BatchNorm2d(32) on (64, 32, 32, 32), eval()" in listed.stdout
    refused = run_script("--only", "Conv3d")
    assert refused.returncode == 2 and "unknown layer Conv3d: choose from Conv2d-16" in refused.stderr
    assert "Traceback" not in refused.stderr
