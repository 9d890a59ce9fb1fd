"""Bad input gets one clear line naming what is wrong, exit status 2, and leaves no run folder behind:
hyperparameters out of range, damaged config.json and history.json, damaged checkpoints, a full disk,
models too big for memory, options a model does not take."""
import errno
import json
import os
import re

import pytest

from gradwork import models
from gradwork.cli import gradcheck, run_folder, train
from gradwork.cli.main import build_parser, main
from gradwork.errors import CheckpointError, ConfigError
from gradwork.train.history import History

TINY = ["--model", "mlp", "--hidden", "8", "--verbose", "0"]
CLI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "gradwork", "cli")


def one_clear_line(capsys, *parts):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "good"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    return out


def copy_of(run, tmp_path):
    import shutil
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run"


# ----------------------------------------------------------------- hyperparameters, checked at parsing

@pytest.mark.parametrize("option, value, phrase", [
    ("--lr", "inf", "a finite positive number"), ("--lr", "nan", "a finite positive number"),
    ("--lr", "1e400", "a finite positive number"), ("--lr", "0", "a finite positive number"),
    ("--weight-decay", "nan", "a finite non-negative number"), ("--weight-decay", "-1", "a finite non-negative number"),
    ("--clip-grad-norm", "inf", "a finite positive number"), ("--clip-grad-norm", "0", "a finite positive number"),
    ("--dropout", "nan", "a number in [0, 1)"), ("--val-fraction", "inf", "a number in [0, 1)"),
    ("--seed", "-1", "a non-negative integer"), ("--epochs", "2.5", "a positive integer"),
    ("--seq-len", "0", "a positive integer"), ("--embedding-dim", "-3", "a positive integer"),
    ("--hidden", "0", "comma-separated positive integers such as 128,64"),
])
def test_hyperparameters_out_of_range_are_refused_at_parsing(tmp_path, capsys, option, value, phrase):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", option, value, "--out", str(out)]) == 2
    one_clear_line(capsys, f"gradwork train: error: argument {option}: must be {phrase}, got '{value}'")
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["gradcheck", "--batch", "0"], "argument --batch: must be a positive integer, got '0'"),
    (["gradcheck", "--hidden", "x"], "argument --hidden: must be comma-separated positive integers"),
    (["word2vec", "--lr", "inf"], "argument --lr: must be a finite positive number, got 'inf'"),
    (["word2vec", "--subsample", "nan"], "argument --subsample: must be a number in [0, 1), got 'nan'"),
    (["generate", "run", "--temperature", "inf"], "argument --temperature: must be a finite positive number"),
    (["diagnose", "run", "--human-error", "2"], "argument --human-error: must be a number in [0, 1], got '2'"),
    (["search", "--trials", "0"], "argument --trials: must be a positive integer, got '0'"),
    (["search", "--grid-points", "-1"], "argument --grid-points: must be a positive integer, got '-1'"),
])
def test_other_commands_check_their_numbers_the_same_way(capsys, argv, message):
    assert main(argv) == 2
    one_clear_line(capsys, message)


def test_every_numeric_option_uses_the_shared_checks():
    """One helper module (gradwork.cli.checks) says what a number must be: no bare int/float types."""
    for name in os.listdir(CLI):
        if name.endswith(".py"):
            with open(os.path.join(CLI, name), encoding="utf-8") as f:
                source = f.read()
            assert not re.search(r"type=(int|float)\b", source), name


def test_search_ranges_are_checked_like_the_options(tmp_path, capsys):
    assert main(["search", "--param", "lr=0:1", "--out", str(tmp_path / "s")]) == 2
    one_clear_line(capsys, "--param lr: the value 0.0 must be a finite positive number")
    assert main(["search", "--model", "lenet5", "--param", "dropout=0:0.5", "--out", str(tmp_path / "s")]) == 2
    one_clear_line(capsys, "--dropout is not an option of lenet5")


# ----------------------------------------------------------------- a full disk

def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_when_the_run_folder_is_created_leaves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run_folder._files, "write_json", disk_full)
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 2
    one_clear_line(capsys, f"cannot write the run folder {out}: No space left on device; free some space")
    assert not out.exists()


def test_a_full_disk_during_training_keeps_the_last_epoch_and_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    from gradwork.io import checkpoint

    writes, original = [], checkpoint._files.write_bytes

    def write_bytes(path, data):
        writes.append(path)
        if len(writes) == 2:
            disk_full()
        original(path, data)

    monkeypatch.setattr(checkpoint._files, "write_bytes", write_bytes)
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "3", "--out", str(out)]) == 2
    one_clear_line(capsys, f"cannot save epoch 2 in {out}: No space left on device; free some space",
                   f"continue it with gradwork train --resume {out}")
    assert sorted(os.listdir(out)) == ["config.json", "history.json", "model.safetensors"]
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0


# ----------------------------------------------------------------- damaged config.json and history.json

@pytest.mark.parametrize("change, message", [
    (lambda c: [], "config.json must hold a JSON object of settings (as `gradwork train` writes it), got list"),
    (lambda c: {}, "config.json: the field 'model' is missing"),
    (lambda c: {**c, "seed": "zero"}, "config.json: field 'seed' must be a non-negative integer, got 'zero'"),
    (lambda c: {k: v for k, v in c.items() if k != "seed"}, "config.json: the field 'seed' is missing"),
    (lambda c: {**c, "epochs": "5"}, "config.json: field 'epochs' must be a positive integer, got '5'"),
    (lambda c: {**c, "hidden": "8"}, "config.json: field 'hidden' must be a list of positive integers"),
    (lambda c: {**c, "lr": None}, "config.json: field 'lr' must be a finite positive number, got None"),
    (lambda c: {**c, "model": 3}, "config.json: field 'model' must be one of mlp, logistic"),
    (lambda c: {**c, "dropout": True}, "config.json: field 'dropout' must be a number in [0, 1), got True"),
])
@pytest.mark.parametrize("command", [["evaluate"], ["diagnose"], ["train", "--resume"]])
def test_a_damaged_config_is_named_with_its_field(good_run, tmp_path, capsys, change, message, command):
    run = copy_of(good_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(change(config)))
    assert main([*command, str(run)]) == 2
    one_clear_line(capsys, f"{run}{os.sep}{message}")


@pytest.mark.parametrize("content, message", [
    ([], "the top level must be an object with epoch and history, got []"),
    ({}, "the field 'epoch' is missing"),
    ({"epoch": "x", "history": {}}, "field 'epoch' must be a list of epoch numbers (0, 1, 2, …), got 'x'"),
    ({"epoch": [0, 1], "history": [1, 2]}, "field 'history' must be an object of per-epoch lists"),
    ({"epoch": [0, 1], "history": {"loss": [1.0]}}, "field history['loss'] must be a list of 2 values (one per epoch)"),
    ({"epoch": [0], "history": {"loss": ["much"]}}, "field history['loss'] must be a list of numbers"),
    ({"epoch": [0], "history": {}, "diverged": "no"}, "field 'diverged' must be true or false"),
])
def test_a_damaged_history_file_is_named_with_its_field(tmp_path, content, message):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(content))
    with pytest.raises(CheckpointError) as error:
        History.load(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_history_keeps_non_finite_values_through_json(tmp_path):
    history = History()
    history.append(0, {"loss": 1.5, "val_loss": float("nan")})
    history.append(1, {"loss": 1.2, "val_loss": float("inf")})
    history.save(tmp_path / "h.json")
    back = History.load(tmp_path / "h.json")
    assert back["loss"] == [1.5, 1.2] and str(back["val_loss"]) == "[nan, inf]"


def test_an_old_checkpoint_without_history_and_a_damaged_history_file_is_refused(good_run, tmp_path, capsys):
    run = copy_of(good_run, tmp_path)
    rewrite_header(run, lambda header: header["metadata"].pop("history"))
    (run / "history.json").write_text('{"epoch": [0, 1], "history": {"loss": [1.0]}}')
    assert main(["diagnose", str(run)]) == 2
    one_clear_line(capsys, f"{run / 'history.json'}: field history['loss'] must be a list of 2 values")


# ----------------------------------------------------------------- damaged checkpoints

def rewrite_header(run, change):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    path = str(run / "model.safetensors")
    with safe_open(path, framework="np") as f:
        header = json.loads(f.metadata()["gradwork"])
        arrays = {key: f.get_tensor(key) for key in f.keys()}
    change(header)
    save_file(arrays, path, metadata={"gradwork": json.dumps(header)})


@pytest.mark.parametrize("change, message", [
    (lambda h: h.update(epoch=-1), "its epoch must be a non-negative integer, got -1"),
    (lambda h: h.update(epoch="2"), "epoch '2' is not a whole number"),
    (lambda h: h["optimizer"]["scalars"]["0"].update(step="x"), "optimizer state step of parameter 0 is 'x'"),
    (lambda h: h["optimizer"]["param_groups"][0].update(betas="x"), "the optimizer option betas is 'x'"),
    (lambda h: h["optimizer"]["param_groups"][0].update(eps=[1]), "the optimizer option eps is (1,)"),
    (lambda h: h["metadata"].update(rng_state={"a": 1}), "its random-generator state (rng_state) is damaged"),
    (lambda h: h["metadata"].update(history={"epoch": [0], "history": {}}), "saved after epoch 2 but its history has 1"),
])
def test_a_checkpoint_with_fields_of_the_wrong_type_is_refused(good_run, tmp_path, capsys, change, message):
    run = copy_of(good_run, tmp_path)
    rewrite_header(run, change)
    assert main(["train", "--resume", str(run), "--epochs", "3", "--verbose", "0"]) == 2
    one_clear_line(capsys, str(run / "model.safetensors"), message)


# ----------------------------------------------------------------- sizes and options the model takes

def test_a_model_too_big_for_memory_is_refused_before_allocating(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--hidden", "100000000", "--out", str(out)]) == 2
    err = one_clear_line(capsys, "an MLP with hidden sizes [100000000] would have 7,500,000,010 parameters: "
                                 "27.9 GiB of weights, about 111.8 GiB to train", "GiB of memory")
    assert not out.exists() and len(err.strip().splitlines()) == 1


def test_a_char_rnn_too_big_for_memory_is_refused(tmp_path, capsys):
    corpus = tmp_path / "text.txt"
    corpus.write_text("abc " * 100)
    assert main(["train", "--model", "char-rnn", "--text", str(corpus), "--hidden", "100000000", "--batch-size", "4",
                 "--out", str(tmp_path / "lm")]) == 2
    one_clear_line(capsys, "a char-rnn with hidden sizes [100000000]", "choose smaller --hidden")


def test_vggnet_dropout_zero_reaches_the_model():
    config = train.config_from_args(build_parser().parse_args(["train", "--model", "vggnet", "--dropout", "0"]))
    assert config["dropout"] == 0.0
    model = models.build_model("vggnet", (1, 8, 8), 10, **{"dropout": 0.0, "batchnorm": False})
    assert [m.p for m in model.modules() if type(m).__name__ == "Dropout"] == [0.0]
    default = models.build_model("vggnet", (1, 8, 8), 10)
    assert [m.p for m in default.modules() if type(m).__name__ == "Dropout"] == [0.5]


@pytest.mark.parametrize("argv, message", [
    (["--model", "lenet5", "--dropout", "0.3"],
     "--dropout is not an option of lenet5; the models that take it: mlp, vggnet, vgg16, alexnet, char-rnn"),
    (["--model", "lenet5", "--hidden", "8"], "--hidden is not an option of lenet5; the models that take it: mlp"),
    (["--model", "mlp", "--batchnorm"], "--batchnorm is not an option of mlp; the models that take it: vggnet"),
    (["--model", "mlp", "--variant", "classic"], "--variant is not an option of mlp; the models that take it: lenet5"),
    (["--model", "mlp", "--cell", "gru"], "--cell is an option of char-rnn only, not of mlp"),
    (["--model", "char-rnn", "--val-fraction", "0"], "--val-fraction is not an option of char-rnn"),
    (["--model", "char-rnn", "--activation", "tanh"], "--activation is not an option of char-rnn"),
])
def test_options_a_model_does_not_take_are_refused(tmp_path, capsys, argv, message):
    out, corpus = tmp_path / "run", tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 20)
    small = ["--text", str(corpus), "--hidden", "8", "--embedding-dim", "4"] if "char-rnn" in argv else []
    assert main(["train", *argv, *small, "--epochs", "1", "--out", str(out), "--verbose", "0"]) == 2
    one_clear_line(capsys, message)
    assert not out.exists()


def test_the_registry_refuses_options_a_model_does_not_take():
    with pytest.raises(ConfigError, match="lenet5 does not take the option 'dropout' \\(models that take it: mlp, "
                                          "vggnet, vgg16, alexnet; lenet5 takes variant\\)"):
        models.build_model("lenet5", (1, 8, 8), 10, dropout=0.3)
    with pytest.raises(ConfigError, match="resnet18 does not take the option 'variant'.*resnet18 takes no options"):
        models.build_model("resnet18", (3, 32, 32), 10, variant="modern")


def test_summary_and_gradcheck_pass_only_options_the_model_takes(capsys):
    assert main(["summary", "--model", "lenet5", "--batchnorm"]) == 2
    one_clear_line(capsys, "lenet5 does not take the option 'batchnorm'")
    assert main(["gradcheck", "--model", "logistic", "--hidden", "4"]) == 2
    one_clear_line(capsys, "logistic does not take the option 'hidden'")
    assert gradcheck.SMALL_HIDDEN == [16, 8]


def test_a_validation_fraction_that_holds_out_nothing_is_refused(tmp_path, capsys):
    assert main(["train", *TINY, "--val-fraction", "0.0001", "--out", str(tmp_path / "run")]) == 2
    one_clear_line(capsys, "--val-fraction 0.0001 of 1437 training examples holds out 0")
    assert not (tmp_path / "run").exists()


def test_a_text_too_short_for_the_batch_is_refused(tmp_path, capsys):
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat ")
    assert main(["train", "--model", "char-rnn", "--text", str(corpus), "--hidden", "8", "--verbose", "0",
                 "--out", str(tmp_path / "lm")]) == 2
    one_clear_line(capsys, "char-rnn: the text is too short for --batch-size 32")
    assert not (tmp_path / "lm").exists()


def test_a_file_given_as_run_folder_is_named_as_such(good_run, capsys):
    assert main(["evaluate", str(good_run / "config.json")]) == 2
    one_clear_line(capsys, f"{good_run / 'config.json'} is a file, not a run folder")
