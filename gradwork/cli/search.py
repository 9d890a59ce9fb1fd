"""``gradwork search``: hyperparameter search over short training runs, scored on the validation split.

    gradwork search --model mlp --dataset digits --trials 20 --param lr=1e-4:1:log --param dropout=0:0.5

The study lives in an SQLite file in the output folder (or the storage given with --storage), so
running the same command again continues it. Past one process:

    gradwork search ... --jobs 4 --storage journal:runs/search.log      # 4 processes on this machine
    gradwork search ... --storage postgresql+psycopg2://user:pw@db:5432/studies --study s1 --total-trials 200
                                                                          # the same line on every machine

``--jobs N`` creates the study once, then starts N worker processes, each this same command with
``--jobs 1 --total-trials UNTIL --resume``: the N share one budget (the trials they take are counted
in the study), and a worker that dies leaves its share to the others. SQLite is refused there: it
locks the whole file on every write, and processes that write at once fail with "database is locked".

Optuna (and matplotlib, for the plot) are imported when the search runs, not when the command line is
read: ``gradwork --help`` should not wait for them.
"""
import argparse
import os
import subprocess
import sys
import time

import gradwork
from gradwork import backend, models
from gradwork.cli import train as train_command
from gradwork.cli.checks import FRACTION, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from gradwork.cli.common import OPTIMIZERS
from gradwork.data.datasets import LOADERS
from gradwork.errors import ConfigError, GradworkError
from gradwork.train.callbacks import Callback

DEFAULT_TRIALS = 20
SAMPLERS = ("random", "grid", "tpe")  # gradwork.tools.search.SAMPLERS, without importing optuna to list them
# What can be searched, and the rule each value must follow (as on `gradwork train`'s command line).
SEARCHABLE = {"lr": POSITIVE, "weight_decay": NON_NEGATIVE, "dropout": FRACTION, "batch_size": POSITIVE_INT,
              "hidden": POSITIVE_INT}


def add_arguments(parser):
    parser.add_argument("--model", default="mlp", choices=models.MODELS, metavar="MODEL",
                        help="architecture, as for `gradwork train` (default mlp)")
    parser.add_argument("--dataset", default="digits", choices=LOADERS, metavar="DATASET",
                        help="data set, as for `gradwork train` (default digits)")
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZERS,
                        help="optimizer, as for `gradwork train` (default adam)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=5, help="epochs per trial (default 5)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--trials", type=POSITIVE_INT, default=None,
                        help=f"trials to run now, shared by the --jobs workers (default {DEFAULT_TRIALS})")
    budget.add_argument("--total-trials", type=POSITIVE_INT, default=None, metavar="N",
                        help="run until the study holds N trials, counting those of every process and machine "
                             "that works on it (give each machine the same N)")
    parser.add_argument("--jobs", type=POSITIVE_INT, default=1,
                        help="worker processes on this machine, sharing the study through --storage (journal: or "
                             "postgresql; not SQLite) (default 1)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=LOW:HIGH[:log][:int]",
                        help=f"a hyperparameter to search ({', '.join(SEARCHABLE)}); e.g. lr=1e-4:1:log, "
                             f"batch_size=32,64,128. Repeat for several (default: lr=1e-4:1:log)")
    parser.add_argument("--sampler", default="random", choices=SAMPLERS,
                        help="random search, grid search or TPE (Bayesian optimisation) (default random)")
    parser.add_argument("--grid-points", type=POSITIVE_INT, default=3,
                        help="values per range in a grid search (default 3)")
    parser.add_argument("--no-prune", action="store_true", help="never stop a trial early")
    parser.add_argument("--study", default=None, help="study name (default: derived from model and dataset)")
    parser.add_argument("--storage", default=None,
                        help="where the study lives: an SQLAlchemy URL (sqlite:///study.db, "
                             "postgresql+psycopg2://user:password@host:5432/db, needs pip install "
                             "\"gradwork[postgres]\") or journal:PATH (a journal file, for --jobs on one machine) "
                             "(default: sqlite file study.db in --out)")
    parser.add_argument("--resume", action="store_true",
                        help="continue a study that must exist already (without it, a study is continued if it "
                             "exists and created if not)")
    parser.add_argument("--out", default=None, help="folder for the study, table and plot (default runs/search-NAME)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0,
                        help="seed of every trial's training; the sampler of a process is seeded with it plus the "
                             "number of the first trial it takes, so processes never draw alike (default 0)")
    # Set by --jobs N on the N processes it starts (the value is N): run trials, leave the table and the
    # plot to the parent, and take a 1/N share of the cores for BLAS so the workers do not fight over them.
    parser.add_argument("--worker", type=POSITIVE_INT, metavar="N", help=argparse.SUPPRESS)


def _space(texts, model):
    """The search space of the ``--param`` texts; every value it can give must be one `train` accepts."""
    from gradwork.tools.search import Range, parse_param

    space = dict(parse_param(t) for t in (texts or ["lr=1e-4:1:log"]))
    unknown = sorted(set(space) - set(SEARCHABLE))
    if unknown:
        raise ConfigError(f"cannot search {', '.join(unknown)}; searchable: {', '.join(SEARCHABLE)}")
    for name, spec in space.items():
        values = (spec.low, spec.high) if isinstance(spec, Range) else spec.values
        for value in values:
            if SEARCHABLE[name].kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            SEARCHABLE[name].check(value, f"--param {name}: the value {value!r}")
    train_command.check_options_fit_the_model(model, space)  # e.g. dropout for lenet5, which has none
    return space


class ReportToTrial(Callback):
    """Hands each epoch's validation accuracy to Optuna, and stops a trial that its pruner rejects."""

    def __init__(self, trial):
        self.trial = trial

    def on_epoch_end(self, state, logs):
        from optuna import TrialPruned

        self.trial.report(logs["val_accuracy"], state.epoch)
        if self.trial.should_prune():
            raise TrialPruned(f"validation accuracy {logs['val_accuracy']:.4f} at epoch {state.epoch + 1}")


def _base_args(args):
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    return parser.parse_args(["--model", args.model, "--dataset", args.dataset, "--optimizer", args.optimizer,
                              "--epochs", str(args.epochs), "--seed", str(args.seed), "--verbose", "0"])


def run(args):
    import optuna

    from gradwork.tools.search import JOURNAL, default_storage, search

    if args.worker:  # one of the processes of --jobs N
        backend.share_blas_threads(args.worker)
    space = _space(args.param, args.model)
    base = _base_args(args)
    train_command.config_from_args(base)  # a model that cannot take this data set fails here, before any trial
    name = args.study or f"{args.model}-{args.dataset}"
    folder = args.out or os.path.join("runs", f"search-{name}")
    storage = args.storage or default_storage(os.path.join(folder, "study.db"))
    if args.jobs > 1 and storage.startswith("sqlite"):
        raise ConfigError(f"--jobs {args.jobs} needs a storage that several processes can write at once: "
                          f"--storage {JOURNAL}{os.path.join(folder, 'study.log')} on this machine, or a "
                          "postgresql+psycopg2:// URL (also for several machines); SQLite locks the whole file on "
                          "every write, and processes that write at once fail with \"database is locked\"")
    if args.resume and args.storage is None and not os.path.isfile(os.path.join(folder, "study.db")):
        raise ConfigError(f"--resume: there is no search to continue in {folder} (no study.db there); give the "
                          "--out or --storage of the search to continue, or leave out --resume to start one")
    trials = args.trials or (DEFAULT_TRIALS if args.total_trials is None else None)
    made = not os.path.isdir(folder)
    if not args.worker:
        os.makedirs(folder, exist_ok=True)
        budget = f"{trials} trials" if trials else f"trials until the study holds {args.total_trials}"
        workers = f", {args.jobs} worker processes" if args.jobs > 1 else ""
        print(f"searching {', '.join(space)} for {args.model} on {args.dataset}: {budget} of {args.epochs} epochs, "
              f"{args.sampler} sampler{workers}; study {name!r} in {_shown(storage)}", file=sys.stderr)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if args.jobs > 1:
            return _run_workers(args, trials, space, name, storage, folder)
        study = search(_objective(base), space, trials, until=args.total_trials, sampler=args.sampler,
                       storage=storage, study_name=name, seed=args.seed, grid_points=args.grid_points,
                       prune=not args.no_prune, resume=args.resume)
    except GradworkError:
        if made and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)  # the storage could not be opened: leave no empty folder behind
        raise
    if not args.worker:
        _report(study, space, storage, folder)
    return 0


def _objective(base):
    """The score of one trial: a short training run with the trial's hyperparameters, its last
    validation accuracy (reported every epoch, so that the pruner can stop a hopeless run)."""
    def objective(params, trial):
        trial_args = argparse.Namespace(**vars(base))
        for key, value in params.items():
            if SEARCHABLE[key].kind is int:
                value = int(round(value))  # a range without :int samples floats
            setattr(trial_args, key, [value] if key == "hidden" else value)
        config = train_command.config_from_args(trial_args)
        experiment = train_command.build_experiment(config)
        history = experiment.fit([ReportToTrial(trial)], 0, 0, None)
        if history.diverged:
            return 0.0  # a diverged run is a (valid) terrible score, not a crash of the search
        return history.history["val_accuracy"][-1]

    return objective


def _report(study, space, storage, folder):
    """The table (printed and in results.txt), the plot, the best trial and where the study is."""
    from gradwork.tools.search import plot_search, results_table

    table = results_table(study)
    print(table)
    with open(os.path.join(folder, "results.txt"), "w") as f:
        f.write(table + "\n")
    plot_search(study, os.path.join(folder, "search.png"), space)
    best = study.best_trial
    print(f"best: trial {best.number}, validation accuracy {best.value:.4f}, "
          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()))
    print(f"study: {_shown(storage)} ({len(study.trials)} trials so far); table and plot in {folder}")


def _run_workers(args, trials, space, name, storage, folder):
    """``--jobs N``: create the study here, once (N processes creating it at once race for it), start N
    workers on it, wait for them all, then report. A worker that fails leaves its share of the budget
    to the others; the command's exit status is then the worker's."""
    from optuna.trial import TrialState

    from gradwork.tools.search import fail_abandoned, open_study

    study = open_study(storage, name, resume=args.resume)
    until = args.total_trials or len(study.trials) + trials
    command = [sys.executable, "-m", "gradwork", "search", *_worker_arguments(args, name, storage, folder, until)]
    environment = dict(os.environ)
    # the workers import this very gradwork, installed or not (a source checkout run from elsewhere)
    here = os.path.dirname(os.path.dirname(gradwork.__file__))
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (here, environment.get("PYTHONPATH")) if p)
    workers = [subprocess.Popen(command, env=environment) for _ in range(args.jobs)]
    try:
        codes = [worker.wait() for worker in workers]
    except KeyboardInterrupt:  # the terminal's Ctrl-C reached the workers too: they are stopping already
        _stop(workers, first="wait")
        raise
    except BaseException:  # SIGTERM, or an error here: the workers know nothing of it
        _stop(workers, first="terminate")
        raise
    study = open_study(storage, name, resume=True)
    abandoned = fail_abandoned(study, [worker.pid for worker in workers])  # those of a worker that was killed
    if any(t.state == TrialState.COMPLETE for t in study.trials):
        _report(study, space, storage, folder)
    failed = [(number, code) for number, code in enumerate(codes, 1) if code != 0]
    for number, code in failed:
        how = f"exit status {code}" if code > 0 else f"signal {-code}"
        print(f"gradwork search: error: worker {number} of {args.jobs} stopped with {how} (its messages, if any, "
              "are above)", file=sys.stderr)
    if abandoned:
        print(f"gradwork search: the trials a stopped worker left running are marked failed: "
              f"{', '.join(map(str, abandoned))}", file=sys.stderr)
    return failed[0][1] if failed and failed[0][1] > 0 else (1 if failed else 0)


def _worker_arguments(args, name, storage, folder, until):
    """The command line of a ``--jobs`` worker: this search, on the study the parent made, until it
    holds ``until`` trials."""
    arguments = ["--model", args.model, "--dataset", args.dataset, "--optimizer", args.optimizer,
                 "--epochs", str(args.epochs), "--sampler", args.sampler, "--grid-points", str(args.grid_points),
                 "--seed", str(args.seed), "--study", name, "--storage", storage, "--out", folder,
                 "--total-trials", str(until), "--resume", "--worker", str(args.jobs)]
    for text in args.param:
        arguments += ["--param", text]
    if args.no_prune:
        arguments.append("--no-prune")
    if getattr(args, "debug", False):
        arguments.append("--debug")
    return arguments


STOP_GRACE_S = 5


def _stop(workers, first):
    """End the workers still running when the parent stops early: ``first="wait"`` gives them a moment
    to fail their trial and exit (a Ctrl-C in the terminal reached them too), ``first="terminate"``
    sends SIGTERM (which they turn into the same clean stop); whatever still runs then gets SIGTERM,
    and at last SIGKILL."""
    for action in (first, "terminate", "kill"):
        running = [worker for worker in workers if worker.poll() is None]
        if not running:
            return
        for worker in running:
            if action != "wait":
                getattr(worker, action)()
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in running:
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass


def _shown(url):
    """The storage URL without its password (it goes to the terminal and to logs)."""
    from gradwork.tools.search import shown_url

    return shown_url(url)
