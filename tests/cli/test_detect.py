"""``gradwork detect train`` and ``gradwork detect evaluate`` on canvases of scikit-learn's bundled digits
(Fashion-MNIST is not there in CI): the run folder, resuming, the mAP and pictures, and one-line errors."""
import json
import os

import pytest

from gradwork.cli.main import main

TINY = ["--dataset", "digits", "--train-canvases", "16", "--batch-size", "8", "--widths", "8,8",
        "--head-blocks", "1", "--num-anchors", "3", "--verbose", "0"]


def detect_train(out, *extra):
    return main(["detect", "train", *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("detect") / "run"
    assert detect_train(out, "--epochs", "2") == 0
    return out


def test_train_writes_a_run_folder_with_its_anchors(run):
    assert sorted(os.listdir(run)) == ["config.json", "curves.png", "history.json", "model.safetensors"]
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "detection" and config["dataset"] == "digits" and config["train_canvases"] == 16
    assert len(config["anchors"]) == 3 and all(w > 0 and h > 0 for w, h in config["anchors"])
    history = json.loads((run / "history.json").read_text())
    assert len(history["history"]["loss"]) == 2


def test_a_resumed_run_continues_exactly_as_the_straight_run(run, tmp_path):
    assert detect_train(tmp_path / "cut", "--epochs", "1") == 0
    assert main(["detect", "train", "--resume", str(tmp_path / "cut"), "--epochs", "2", "--verbose", "0"]) == 0
    straight, resumed = (json.loads((path / "history.json").read_text()) for path in (run, tmp_path / "cut"))
    assert resumed == straight


def test_evaluate_prints_the_map_and_draws_predictions_and_precision_recall(run, capsys):
    assert main(["detect", "evaluate", str(run), "--canvases", "12"]) == 0
    out = capsys.readouterr().out
    assert "12 digits test canvases" in out and "mAP@0.5" in out and "AP 7" in out
    score = float(out.split("mAP@0.5")[1].split()[0])
    assert 0 <= score <= 1
    for name in ("predictions.png", "precision_recall.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def one_line(capsys, *parts):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    for part in parts:
        assert part in err, err


@pytest.mark.parametrize("option, value, phrase", [
    ("--train-canvases", "0", "must be a positive integer, got '0'"),
    ("--lr", "nan", "must be a finite positive number"),
    ("--widths", "8,0", "must be comma-separated positive integers"),
])
def test_bad_options_are_refused_at_parsing(tmp_path, capsys, option, value, phrase):
    assert detect_train(tmp_path / "run", option, value) == 2
    one_line(capsys, f"argument {option}: {phrase}")
    assert not (tmp_path / "run").exists()


def test_a_stride_that_does_not_divide_the_canvas_is_refused_before_a_folder_is_made(tmp_path, capsys):
    assert detect_train(tmp_path / "run", "--widths", "2,2,2,2,2,2") == 2
    one_line(capsys, "--patch 4 and --widths 2,2,2,2,2,2 give a stride of 128, which does not divide the 96-pixel")
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_changed_setting_and_out(run, capsys):
    assert main(["detect", "train", "--resume", str(run), "--widths", "4,4"]) == 2
    one_line(capsys, "--widths 4,4 (the run has 8,8)")
    assert main(["detect", "train", "--resume", str(run), "--out", "elsewhere"]) == 2
    one_line(capsys, "--out and --resume do not go together")


def test_evaluate_refuses_a_folder_that_is_not_a_detection_run(tmp_path, capsys):
    assert main(["detect", "evaluate", str(tmp_path / "missing")]) == 2
    one_line(capsys, "does not exist")
    (tmp_path / "classifier").mkdir()
    (tmp_path / "classifier" / "config.json").write_text(json.dumps({"model": "mlp"}))
    assert main(["detect", "evaluate", str(tmp_path / "classifier")]) == 2
    one_line(capsys, "is not a detection run", "gradwork evaluate RUN")


def test_detect_without_an_action_says_what_to_do(capsys):
    assert main(["detect"]) == 2
    one_line(capsys, "gradwork detect train")
