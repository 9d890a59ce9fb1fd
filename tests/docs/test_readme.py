"""The README's examples do what the README says: each runs as printed, and the outputs and results
it shows (in an output block after the example, or in a comment beside a line) are what comes out."""
import ast
import contextlib
import io
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def blocks():
    """[(language, text)] of the README's fenced blocks, in order ('' for a block without a language)."""
    found, language, lines = [], None, []
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if language is None:
                language, lines = line[3:].strip(), []
            else:
                found.append((language, "\n".join(lines) + "\n"))
                language = None
        elif language is not None:
            lines.append(line)
    return found


def block_with(text):
    """(index, code) of the one python block containing ``text``."""
    matches = [(i, code) for i, (language, code) in enumerate(blocks()) if language == "python" and text in code]
    assert len(matches) == 1, f"the README should have one python block with {text!r}, found {len(matches)}"
    return matches[0]


def run(code, namespace=None):
    """Run ``code`` as a script; returns (its namespace, what it printed)."""
    namespace = {"__name__": "__readme__"} if namespace is None else namespace
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 — the project's own README
    return namespace, printed.getvalue()


def first_literal(comment):
    """The first bracketed Python literal in a comment: '[0, 2]: box 1 …' → [0, 2]."""
    start = min((comment.index(c) for c in "[(" if c in comment), default=None)
    if start is None:
        return None
    depth = 0
    for end, char in enumerate(comment[start:], start):
        depth += char in "[("
        depth -= char in "])"
        if depth == 0:
            return ast.literal_eval(comment[start:end + 1])
    return None


def test_loading_a_pytorch_state_dict_prints_what_the_readme_shows(monkeypatch):
    index, code = block_with('load_state_dict_file("tests/io/fixtures/sequential.pt")')
    language, expected = blocks()[index + 1]
    assert language == "", "the example's output block should follow it"
    monkeypatch.chdir(ROOT)
    assert run(code)[1] == expected


def test_the_quick_start_trains_to_the_numbers_in_its_comment(tmp_path, monkeypatch):
    """The quick start trains for 30 epochs on the 8×8 digits (2 s) and prints the test loss and accuracy
    its comment shows, to the digits shown."""
    _, code = block_with("datasets.load_digits()")
    shown = re.search(r"print\(train\.evaluate.*#\s*(\{.*\})", code).group(1)
    monkeypatch.chdir(tmp_path)  # it saves digits.safetensors
    namespace, printed = run(code)
    result = ast.literal_eval(printed.strip().splitlines()[-1])
    numbers = re.findall(r"'(\w+)': ([\d.]+)…", shown)
    assert [key for key, _ in numbers] == ["loss", "accuracy"], f"the comment should show both numbers: {shown}"
    for key, digits in numbers:
        assert repr(result[key]).startswith(digits), f"{key}: README shows {digits}…, the run gives {result[key]}"
    assert (tmp_path / "digits.safetensors").is_file()
    for name, value in namespace["model"].state_dict().items():  # loaded back by name into the second model
        np.testing.assert_array_equal(namespace["again"].state_dict()[name], value)


def test_the_autograd_example_gives_the_gradient_in_its_comment():
    import gradwork as gw
    _, code = block_with("x = gw.tensor([[1.0, 2.0]], requires_grad=True)")
    namespace, _ = run(code, {"gw": gw})
    expected = first_literal(re.search(r"x\.grad == (.*)", code).group(1))
    np.testing.assert_array_equal(namespace["x"].grad, expected)


def test_commented_results_of_the_box_examples():
    """Every line of the boxes example whose comment starts with a value gives that value (to the
    digits shown)."""
    _, code = block_with("box_iou([[0, 0, 2, 2]]")
    namespace = {}
    checked = 0
    for line in code.splitlines():
        statement, _, comment = line.partition("#")
        if not statement.strip():
            continue
        expected = first_literal(comment) if comment else None
        if expected is None or "=" in statement.split("(")[0] or statement.startswith(("from", "import")):
            exec(statement, namespace)  # noqa: S102 — an import or an assignment: run it
            continue
        value = eval(statement, namespace)  # noqa: S307 — an expression the README shows the value of
        np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected, dtype=float), atol=1e-4,
                                   err_msg=line)
        checked += 1
    assert checked == 4
