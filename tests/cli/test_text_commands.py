"""The text commands: `gradwork train --model char-rnn`, `gradwork generate`, `gradwork word2vec`."""
import json
import os

import pytest

from gradwork.cli.main import main

TEXT = "the cat sat on the mat. the dog sat on the log. " * 60


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def train_char_rnn(tmp_path, corpus, *extra):
    out = tmp_path / "lm"
    code = main(["train", "--model", "char-rnn", "--text", str(corpus), "--epochs", "3", "--hidden", "32",
                 "--embedding-dim", "8", "--seq-len", "16", "--batch-size", "8", "--lr", "0.01", "--out", str(out),
                 "--verbose", "0", *extra])
    return code, out


def test_char_rnn_trains_reports_bpc_against_the_baseline_and_writes_a_run(tmp_path, corpus, capsys):
    code, out = train_char_rnn(tmp_path, corpus)
    assert code == 0
    printed = capsys.readouterr().out
    model_bpc = float(printed.split("held-out text: ")[1].split()[0])
    baseline = float(printed.split("unigram baseline ")[1].split()[0])
    assert model_bpc < baseline - 1.0
    assert sorted(os.listdir(out)) == ["config.json", "curves.png", "history.json", "model.safetensors"]
    history = json.loads((out / "history.json").read_text())["history"]
    assert {"loss", "bpc", "perplexity", "val_bpc", "val_perplexity"} <= set(history)


def test_generate_samples_text_from_the_prime_and_is_seeded(tmp_path, corpus, capsys):
    _, out = train_char_rnn(tmp_path, corpus)
    capsys.readouterr()
    args = ["generate", str(out), "--prime", "the ", "--length", "40", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("the ") and len(first.strip()) >= 40


def test_char_rnn_resume_continues_exactly(tmp_path, corpus):
    common = ["--model", "char-rnn", "--text", str(corpus), "--hidden", "16", "--embedding-dim", "4",
              "--seq-len", "8", "--batch-size", "8", "--verbose", "0"]
    assert main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *common, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["epochs"] == 1
    assert main(["train", "--resume", str(tmp_path / "b"), "--epochs", "2", "--verbose", "0"]) == 0
    assert (json.loads((tmp_path / "a" / "history.json").read_text())
            == json.loads((tmp_path / "b" / "history.json").read_text()))


@pytest.mark.parametrize("args, message", [
    (["--prime", "the €"], "never saw in training: '€'"),
    (["--temperature", "0"], "argument --temperature: must be a finite positive number, got '0'"),
    (["--temperature", "nan"], "argument --temperature: must be a finite positive number, got 'nan'"),
    (["--length", "-1"], "argument --length: must be a non-negative integer, got '-1'"),
])
def test_generate_rejects_bad_input_with_one_line(tmp_path, corpus, capsys, args, message):
    _, out = train_char_rnn(tmp_path, corpus)
    capsys.readouterr()
    assert main(["generate", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_generate_refuses_an_image_run(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "img"), "--verbose", "0"]) == 0
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "img")]) == 2
    assert "generate needs a run of" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"caf\xe9 au lait", "not UTF-8")])
def test_bad_text_files_get_a_clear_message_and_no_run_folder(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, out = train_char_rnn(tmp_path, bad)
    assert code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_word2vec_command_saves_vectors_and_prints_neighbours(tmp_path, corpus, capsys):
    out = tmp_path / "vectors"
    assert main(["word2vec", "--text", str(corpus), "--dim", "8", "--window", "2", "--epochs", "2",
                 "--min-count", "2", "--show", "cat,dog", "--out", str(out), "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("cat: ") and "\ndog: " in printed
    assert {"vectors.safetensors", "vocabulary.json", "config.json", "history.json"} <= set(os.listdir(out))
    from gradwork.io import load_word_vectors
    model = load_word_vectors(out)
    assert "cat" in model.words and model.most_similar("cat", 2)


def test_word2vec_rejects_unknown_words_and_bad_options(tmp_path, corpus, capsys):
    assert main(["word2vec", "--text", str(corpus), "--show", "zebra", "--out", str(tmp_path / "v")]) == 2
    assert "zebra not in the vocabulary" in capsys.readouterr().err
    assert main(["word2vec", "--text", str(corpus), "--window", "0"]) == 2
    assert "argument --window: must be a positive integer, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["sparse-adam", "adam", "sgd"])
def test_word2vec_trains_with_each_optimizer_and_records_it(tmp_path, corpus, optimizer):
    out = tmp_path / optimizer
    lr = ["--lr", "1.0"] if optimizer == "sgd" else []  # the 12-word corpus diverges at word2vec's usual rates
    assert main(["word2vec", "--text", str(corpus), "--dim", "8", "--window", "2", "--epochs", "2", "--min-count", "2",
                 "--show", "cat", "--optimizer", optimizer, *lr, "--out", str(out), "--verbose", "0"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["optimizer"] == optimizer and config["lr"] == (1.0 if optimizer == "sgd" else 0.003)
