"""``gradwork demo NAME``: run one of the course examples in ``examples/``; ``--list`` lists them.

The examples are plain scripts beside the package (``examples/<name>.py``), meant to be read;
each writes its pictures to ``examples/out/``. They ship with the source checkout — the one
``pip install -e .`` installs from.
"""
import ast
import os
import runpy
import sys

from gradwork.errors import ConfigError

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")


def add_arguments(parser):
    parser.add_argument("name", nargs="?", help="the example to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the examples with one line each")


def available():
    """{name: first line of its docstring} for every example script."""
    if not os.path.isdir(EXAMPLES):
        raise ConfigError(f"the examples folder {EXAMPLES} is missing: the demos come with the source checkout; "
                          f"clone the repository and install it with pip install -e .")
    found = {}
    for file in sorted(os.listdir(EXAMPLES)):
        if file.endswith(".py") and not file.startswith("_"):
            with open(os.path.join(EXAMPLES, file), encoding="utf-8") as f:
                doc = ast.get_docstring(ast.parse(f.read())) or ""
            found[file[:-3]] = doc.splitlines()[0] if doc else ""
    return found


def run(args):
    examples = available()
    if args.list or not args.name:
        width = max(map(len, examples))
        for name, summary in examples.items():
            print(f"{name:<{width}}  {summary}")
        return 0
    name = args.name.replace("-", "_").removesuffix(".py")
    if name not in examples:
        raise ConfigError(f"no example called {args.name!r}; choose one of: {', '.join(examples)}")
    argv = sys.argv
    sys.argv = [os.path.join(EXAMPLES, name + ".py")]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        sys.argv = argv
    print(f"pictures: {os.path.join(EXAMPLES, 'out')}")
    return 0
