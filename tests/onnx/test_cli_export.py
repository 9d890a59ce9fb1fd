"""``gradwork export RUN`` on a tiny run trained on the bundled digits."""
import os

import numpy as np
import pytest

from gradwork.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "mlp"
    assert main(["train", "--model", "mlp", "--dataset", "digits", "--epochs", "1", "--hidden", "16",
                 "--verbose", "0", "--out", str(folder)]) == 0
    return folder


def test_export_writes_a_file_that_matches(run_folder, tmp_path, capsys):
    out = tmp_path / "digits.onnx"
    assert main(["export", str(run_folder), "--out", str(out), "--opset", "17"]) == 0
    printed = capsys.readouterr().out
    assert "max |difference|" in printed
    difference = float(printed.rsplit("max |difference|", 1)[1].split()[0])
    assert difference < 1e-4
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": np.zeros((7, 1, 8, 8), np.float32)})
    assert logits.shape == (7, 10)


def test_bad_input_is_one_line_and_status_2(run_folder, tmp_path, capsys):
    assert main(["export", str(tmp_path / "no-such-run")]) == 2
    assert main(["export", str(run_folder), "--out", str(tmp_path / "missing" / "m.onnx")]) == 2
    assert main(["export", str(run_folder), "--out", str(tmp_path / "m.onnx"), "--opset", "3"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 3 and all(line.startswith("gradwork export: error:")
                                                      for line in err.strip().splitlines())
    assert os.listdir(tmp_path) == []
