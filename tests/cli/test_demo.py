"""`gradwork demo`: the course examples are listed and run, and write their pictures."""
import ast
import os

import pytest

from gradwork.cli import demo
from gradwork.cli.main import main

TOPICS = ["perceptron_gates", "activation_functions", "gradient_check", "optimizer_comparison", "initialization",
          "batchnorm_effect", "overfitting_weight_decay", "dropout", "hyperparameter_search", "lr_schedules",
          "bias_variance", "spatial_transformer", "generative_vs_discriminative", "spectral_graph_conv", "ensembles",
          "max_norm"]


def test_every_course_topic_has_an_example_with_a_docstring_and_main():
    examples = demo.available()
    assert set(TOPICS) <= set(examples)
    for name in examples:
        with open(os.path.join(demo.EXAMPLES, name + ".py"), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        assert ast.get_docstring(tree), name
        assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body), name


def test_demo_list_prints_one_line_per_example(capsys):
    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(demo.available())
    assert any(line.startswith("perceptron_gates") and "XOR" in line for line in lines)


@pytest.mark.parametrize("name, picture", [("perceptron_gates", "perceptron_gates.png"),
                                           ("lr-schedules", "lr_schedules.png"),
                                           ("activation_functions", "activations.png")])
def test_a_demo_runs_and_writes_its_picture(name, picture, capsys):
    path = os.path.join(demo.EXAMPLES, "out", picture)
    if os.path.exists(path):
        os.remove(path)
    assert main(["demo", name]) == 0
    assert os.path.getsize(path) > 1000
    assert "pictures:" in capsys.readouterr().out


def test_unknown_demo_names_the_choices(capsys):
    assert main(["demo", "nope"]) == 2
    assert "perceptron_gates" in capsys.readouterr().err
