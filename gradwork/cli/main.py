"""The ``gradwork`` command: ``train``, ``evaluate RUN``, ``generate RUN``, ``gradcheck``, ``summary``.

Errors the user can fix (bad arguments, missing files, unknown names, diverged training) are printed
as one line, ``gradwork: error: …``, with exit status 2; never a traceback.
"""
import argparse
import sys

from gradwork import backend
from gradwork.cli import demo, diagnose, evaluate, generate, gradcheck, search, summary, train, word2vec
from gradwork.errors import GradworkError

COMMANDS = {
    "train": (train, "train a model and write a run folder (weights, config, history, curves)"),
    "evaluate": (evaluate, "evaluate a trained run on its test split"),
    "demo": (demo, "run one of the course examples (gradwork demo --list)"),
    "diagnose": (diagnose, "bias or variance? and is the loss curve healthy? read from a run folder"),
    "generate": (generate, "sample text from a trained character language model (char-rnn)"),
    "gradcheck": (gradcheck, "check a model's gradients against finite differences"),
    "search": (search, "hyperparameter search (random, grid or TPE) over short training runs, resumable"),
    "summary": (summary, "print each layer's output shape and parameter count"),
    "word2vec": (word2vec, "learn word vectors from a text and show nearest neighbours"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="gradwork", description="gradwork: deep learning from first principles.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    backend.reuse_freed_memory()  # this process trains: keep freed arrays' memory for the next step
    try:
        return COMMANDS[args.command][0].run(args)
    except (GradworkError, ValueError, TypeError, OSError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"gradwork {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
