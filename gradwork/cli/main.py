"""The ``gradwork`` command: ``train``, ``evaluate RUN``, ``generate RUN``, ``gradcheck``, ``summary``, …

Errors the user can fix — bad arguments, missing or damaged files, unknown names, diverged training:
gradwork's own errors (``GradworkError``) and the operating system's (``OSError``: a missing file, a
full disk) — are printed as one line, ``gradwork train: error: …``, with exit status 2. Anything else
(a ``TypeError``, a ``KeyError``) is a bug in gradwork: its traceback is shown, with exit status 1.
``--debug`` shows the traceback of user errors too.

SIGTERM and SIGHUP are turned into an exception, like Ctrl-C, so a command stopped by ``kill`` or a
closed terminal cleans up as it does on Ctrl-C (a run that finished no epoch leaves no folder).

The subcommands import their heavy libraries (matplotlib, scikit-learn, optuna) only when they run,
so ``gradwork --help`` answers at once.
"""
import argparse
import contextlib
import signal
import sys
import traceback

from gradwork.cli import demo, diagnose, evaluate, export, generate, gradcheck, search, summary, train, word2vec
from gradwork.cli import style_transfer
from gradwork.cli import detect
from gradwork.errors import GradworkError

COMMANDS = {
    "train": (train, "train a model and write a run folder (weights, config, history, curves)"),
    "evaluate": (evaluate, "evaluate a trained run on its test split"),
    "export": (export, "export a trained run's model to ONNX and check it in onnxruntime"),
    "demo": (demo, "run one of the course examples (gradwork demo --list)"),
    "detect": (detect, "object detection: train a one-scale YOLO on canvases of Fashion-MNIST items, measure its mAP"),
    "diagnose": (diagnose, "bias or variance? and is the loss curve healthy? read from a run folder"),
    "generate": (generate, "sample text from a trained character language model (char-rnn)"),
    "gradcheck": (gradcheck, "check a model's gradients against finite differences"),
    "search": (search, "hyperparameter search (random, grid or TPE) over short training runs, resumable"),
    "summary": (summary, "print each layer's output shape and parameter count"),
    "style-transfer": (style_transfer, "paint a photo in the style of another image (Gatys et al.'s optimisation)"),
    "word2vec": (word2vec, "learn word vectors from a text and show nearest neighbours"),
}
USER_ERRORS = (GradworkError, OSError)
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Stopped(BaseException):
    """The process was asked to stop by a signal (SIGTERM, SIGHUP). A BaseException, like
    KeyboardInterrupt, so that ``except Exception`` in library code does not swallow it."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument said in one line: the usage block it prints first would bury the
    message, and ``--help`` shows it anyway. Subcommands' parsers are of this class too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = Parser(prog="gradwork", description="gradwork: deep learning from first principles.")
    debug_help = "on an error, show the full traceback (for reporting a problem)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        # also after the command (gradwork train --debug); SUPPRESS keeps a --debug given before it
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse has printed its message (or the help)
        return exit.code
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # gradwork train --workers N runs it again under mpiexec
    from gradwork import backend
    backend.reuse_freed_memory()  # this process trains: keep freed arrays' memory for the next step
    name = f"gradwork {args.command}"
    try:
        with signals_raise_stopped():
            return COMMANDS[args.command][0].run(args)
    except BrokenPipeError:  # the reader went away (gradwork evaluate RUN | head): stop quietly, as cat does
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a process killed by a closed pipe
    except MemoryError:
        if args.debug:
            traceback.print_exc()
        print(f"{name}: error: out of memory: the model, the batch or the data set does not fit in this machine's "
              "memory; try a smaller --batch-size, a smaller model, or fewer training examples", file=sys.stderr)
        return 2
    except USER_ERRORS as error:
        if args.debug:
            traceback.print_exc()
        print(f"{name}: error: {describe(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Stopped as stop:
        print(f"\nstopped by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    except Exception:
        traceback.print_exc()
        print(f"{name}: internal error: the traceback above is a bug in gradwork, not a problem with your input; "
              "please report it with the command you ran", file=sys.stderr)
        return 1


def _silence_stdout():
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail on the closed pipe
    a second time (the recipe of Python's documentation for SIGPIPE)."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (captured by a test): nothing to silence
        pass


def describe(error):
    """One line for a user error: the message, or for an OSError its reason and file."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error) or type(error).__name__


@contextlib.contextmanager
def signals_raise_stopped():
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` (the previous handlers come back after)."""
    def stop(signum, frame):
        raise Stopped(signum)

    previous = {}
    try:
        for name in STOP_SIGNALS:
            if hasattr(signal, name):
                number = getattr(signal, name)
                previous[number] = signal.signal(number, stop)
    except ValueError:  # not the main thread (main() called from a thread): signals stay as they were
        pass
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":
    sys.exit(main())
