"""Hyperparameter search on Optuna: ranges, samplers, resuming from SQLite, pruning, narrowing."""
import math

import optuna
import pytest

from gradwork.cli.main import main
from gradwork.errors import ConfigError
from gradwork.tools import search as hs


def test_parse_param_reads_ranges_scales_and_choices():
    assert hs.parse_param("lr=1e-4:1:log") == ("lr", hs.Range(1e-4, 1.0, log=True))
    assert hs.parse_param("hidden=16:256:int") == ("hidden", hs.Range(16, 256, integer=True))
    assert hs.parse_param("batch_size=32,64") == ("batch_size", hs.Choice((32, 64)))


@pytest.mark.parametrize("text, message", [("lr=1:0.1", "low must be below high"),
                                           ("lr=0:1:log", "log scale needs positive bounds"),
                                           ("lr=-1:1:log", "log scale needs positive bounds"),
                                           ("lr", "expected NAME=LOW:HIGH"), ("lr=a:1", "not a number")])
def test_bad_ranges_are_refused_clearly(text, message):
    with pytest.raises(ConfigError, match=message):
        hs.parse_param(text)


def test_log_uniform_sampling_spreads_over_the_decades():
    study = hs.search(lambda p, trial: p["lr"], {"lr": hs.Range(1e-4, 1, log=True)}, 200, prune=False)
    decades = [math.floor(math.log10(t.params["lr"])) for t in study.trials]
    assert {-4, -3, -2, -1} <= set(decades)
    assert sum(d == -1 for d in decades) < 0.4 * len(decades)  # a uniform draw would put 90% there


def test_grid_search_visits_every_grid_point():
    space = {"a": hs.Range(1, 100, log=True), "b": hs.Choice(("x", "y"))}
    study = hs.search(lambda p, trial: p["a"], space, 6, sampler="grid", grid_points=3, prune=False)
    assert sorted({(round(t.params["a"]), t.params["b"]) for t in study.trials}) == \
        [(1, "x"), (1, "y"), (10, "x"), (10, "y"), (100, "x"), (100, "y")]


def test_tpe_finds_the_peak_of_a_smooth_score():
    study = hs.search(lambda p, trial: -(math.log10(p["lr"]) + 2) ** 2, {"lr": hs.Range(1e-5, 1, log=True)}, 30,
                      sampler="tpe", prune=False)
    assert abs(math.log10(study.best_params["lr"]) + 2) < 0.5


def test_narrow_keeps_the_range_of_the_best_trials():
    space = {"x": hs.Range(0, 10), "c": hs.Choice((1, 2))}
    study = hs.search(lambda p, trial: -abs(p["x"] - 7), space, 40, prune=False)
    narrowed = hs.narrow(study, space, top=0.2)
    assert 4 < narrowed["x"].low < 7 < narrowed["x"].high < 10
    assert narrowed["c"] == space["c"]


def test_a_five_trial_search_on_digits_completes_resumes_and_ranks(tmp_path, capsys):
    args = ["search", "--model", "mlp", "--dataset", "digits", "--trials", "5", "--epochs", "2",
            "--param", "lr=1e-4:1:log", "--out", str(tmp_path)]
    assert main(args) == 0
    assert (tmp_path / "study.db").is_file() and (tmp_path / "search.png").read_bytes()[:4] == b"\x89PNG"
    study = optuna.load_study(study_name="mlp-digits", storage=hs.default_storage(tmp_path / "study.db"))
    assert len(study.trials) == 5
    scores = [t.value if t.value is not None else t.intermediate_values[t.last_step] for t in study.trials]
    assert max(scores) > min(scores)
    assert main(args[:6] + ["2"] + args[7:]) == 0  # the same command continues the stored study
    study = optuna.load_study(study_name="mlp-digits", storage=hs.default_storage(tmp_path / "study.db"))
    assert len(study.trials) == 7
    assert "best: trial" in capsys.readouterr().out


def test_search_command_refuses_unknown_parameters(tmp_path, capsys):
    assert main(["search", "--param", "momentum=0:1", "--out", str(tmp_path)]) == 2
    assert "cannot search momentum" in capsys.readouterr().err
