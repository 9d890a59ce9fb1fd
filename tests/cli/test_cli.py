"""The gradwork command: train, resume, evaluate, gradcheck and its error messages."""
import json
import os
import subprocess
import sys

import pytest

from gradwork.cli.main import main


def train(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["train", "--out", str(out), "--verbose", "0", *extra])
    return code, out


def test_default_train_writes_a_complete_run_folder(tmp_path, capsys):
    code, out = train(tmp_path)
    assert code == 0
    assert sorted(os.listdir(out)) == ["config.json", "curves.png", "history.json", "model.safetensors"]
    printed = capsys.readouterr().out
    accuracy = float(printed.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.95
    history = json.loads((out / "history.json").read_text())
    assert len(history["epoch"]) == 30 and "val_accuracy" in history["history"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "lenet5" and config["dataset"] == "digits" and config["optimizer"] == "adam"
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def straight_and_resumed(tmp_path, *options):
    """Histories of a 4-epoch run, and of a 2-epoch run resumed to 4 epochs."""
    assert train(tmp_path, "--epochs", "4", *options, name="straight")[0] == 0
    assert train(tmp_path, "--epochs", "2", *options, name="interrupted")[0] == 0
    assert main(["train", "--resume", str(tmp_path / "interrupted"), "--epochs", "4", "--verbose", "0"]) == 0
    return [json.loads((tmp_path / name / "history.json").read_text()) for name in ("straight", "interrupted")]


def test_resume_continues_exactly_the_same_history(tmp_path):
    straight, resumed = straight_and_resumed(tmp_path, "--model", "mlp", "--dropout", "0.2", "--optimizer", "momentum",
                                             "--hidden", "32")
    assert resumed == straight


def test_cosine_schedule_anneals_the_learning_rate_over_the_epochs(tmp_path):
    assert train(tmp_path, "--epochs", "4", "--schedule", "cosine", "--lr", "0.002")[0] == 0
    lrs = json.loads((tmp_path / "run" / "history.json").read_text())["history"]["lr"]
    assert lrs == pytest.approx([0.002, 0.001 * (1 + 2 ** -0.5), 0.001, 0.001 * (1 - 2 ** -0.5)])


def test_resume_picks_up_the_schedule_where_it_stopped(tmp_path):
    straight, resumed = straight_and_resumed(tmp_path, "--schedule", "step", "--hidden", "32", "--model", "mlp")
    assert straight["history"]["lr"] == pytest.approx([1e-3, 1e-4, 1e-5, 1e-6])
    assert resumed == straight


def test_val_fraction_zero_trains_on_the_whole_training_split(tmp_path, capsys):
    assert train(tmp_path, "--epochs", "2", "--model", "mlp", "--hidden", "32", "--val-fraction", "0")[0] == 0
    assert "1437 train / 0 validation / 360 test" in capsys.readouterr().err  # the test split stays apart
    history = json.loads((tmp_path / "run" / "history.json").read_text())["history"]
    assert "val_accuracy" not in history and len(history["loss"]) == 2
    assert json.loads((tmp_path / "run" / "config.json").read_text())["val_fraction"] == 0


def test_same_seed_gives_identical_history_files(tmp_path):
    assert train(tmp_path, "--epochs", "3", "--model", "mlp", "--dropout", "0.3", name="a")[0] == 0
    assert train(tmp_path, "--epochs", "3", "--model", "mlp", "--dropout", "0.3", name="b")[0] == 0
    assert (tmp_path / "a" / "history.json").read_bytes() == (tmp_path / "b" / "history.json").read_bytes()


def test_evaluate_prints_accuracy_and_confusion_matrix(tmp_path, capsys):
    train(tmp_path, "--epochs", "2")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "confusion matrix" in out


def test_gradcheck_command_prints_a_table_of_verdicts(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "layers.0.weight" in out and "correct" in out and "wrong" not in out.split("thresholds")[0]


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adamm"], "argument --optimizer: invalid choice: 'adamm' (choose from 'sgd', 'momentum'"),
    (["--model", "resnet"], "argument --model: invalid choice: 'resnet' (choose from 'mlp'"),
    (["--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet' (choose from 'digits'"),
    (["--batch-size", "0"], "argument --batch-size: must be a positive integer, got '0'"),
    (["--epochs", "-1"], "argument --epochs: must be a positive integer, got '-1'"),
    (["--lr", "-0.1"], "argument --lr: must be a finite positive number, got '-0.1'"),
    (["--dropout", "1.5"], "argument --dropout: must be a number in [0, 1), got '1.5'"),
    (["--hidden", "12,x"], "argument --hidden: must be comma-separated positive integers such as 128,64, got '12,x'"),
    (["--val-fraction", "1"], "argument --val-fraction: must be a number in [0, 1), got '1'"),
])
def test_bad_arguments_get_one_clear_line_and_no_run_folder(tmp_path, capsys, args, message):
    code, out = train(tmp_path, *args)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_unwritable_output_folder_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--out", str(blocker / "run"), "--epochs", "1", "--verbose", "0"]) == 2
    assert "cannot write the run folder" in capsys.readouterr().err


def test_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    train(tmp_path, "--epochs", "1")
    assert train(tmp_path, "--epochs", "1")[0] == 2
    assert "already exists" in capsys.readouterr().err


def test_resume_of_a_corrupt_checkpoint_is_rejected_clearly(tmp_path, capsys):
    train(tmp_path, "--epochs", "1")
    model_file = tmp_path / "run" / "model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[:100])
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert "truncated or corrupt" in err and "Traceback" not in err


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--verbose", "0"]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_diverging_training_stops_with_advice_and_exit_status(tmp_path, capsys):
    code, out = train(tmp_path, "--optimizer", "sgd", "--lr", "1e6", "--epochs", "3")
    assert code == 2
    assert "lower learning rate" in capsys.readouterr().err


def test_python_dash_m_and_help_work():
    result = subprocess.run([sys.executable, "-m", "gradwork", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--optimizer" in result.stdout and "--resume" in result.stdout
    result = subprocess.run([sys.executable, "-m", "gradwork", "train", "--epochs", "x"], capture_output=True, text=True)
    assert result.returncode == 2 and "argument --epochs: must be a positive integer, got 'x'" in result.stderr


def test_summary_command_prints_shapes_and_parameter_counts(capsys):
    assert main(["summary", "--model", "simplecnn", "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d" in out and "(N, 30, 4, 4)" in out and "total parameters: 13,890" in out


def test_unknown_augmentation_is_rejected_before_training(tmp_path, capsys):
    code, out = train(tmp_path, "--augment", "flip,blur")
    assert code == 2 and "unknown augmentation 'blur'" in capsys.readouterr().err and not out.exists()


def test_lenet5_with_augmentation_trains_from_the_cli(tmp_path):
    code, out = train(tmp_path, "--model", "lenet5", "--augment", "crop", "--epochs", "2")
    config = __import__("json").loads((out / "config.json").read_text())
    assert code == 0 and config["model"] == "lenet5" and config["augment"] == "crop"
