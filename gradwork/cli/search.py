"""``gradwork search``: hyperparameter search over short training runs, scored on the validation split.

    gradwork search --model mlp --dataset digits --trials 20 --param lr=1e-4:1:log --param dropout=0:0.5

The study lives in an SQLite file in the output folder (or any SQLAlchemy URL given with --storage),
so running the same command again continues it; several machines pointed at one PostgreSQL URL
share the work.

Optuna (and matplotlib, for the plot) are imported when the search runs, not when the command line is
read: ``gradwork --help`` should not wait for them.
"""
import argparse
import os
import sys

from gradwork import models
from gradwork.cli import train as train_command
from gradwork.cli.checks import FRACTION, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from gradwork.cli.common import OPTIMIZERS
from gradwork.data.datasets import LOADERS
from gradwork.errors import ConfigError
from gradwork.train.callbacks import Callback

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
    parser.add_argument("--trials", type=POSITIVE_INT, default=20, help="trials to run now (default 20)")
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
                        help="SQLAlchemy URL of the study database (default: sqlite file study.db in --out)")
    parser.add_argument("--out", default=None, help="folder for the study, table and plot (default runs/search-NAME)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0,
                        help="seed of the sampler and of every trial (default 0)")


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

    from gradwork.tools.search import default_storage, plot_search, results_table, search

    space = _space(args.param, args.model)
    base = _base_args(args)
    train_command.config_from_args(base)  # a model that cannot take this data set fails here, before any trial
    name = args.study or f"{args.model}-{args.dataset}"
    folder = args.out or os.path.join("runs", f"search-{name}")
    made = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    storage = args.storage or default_storage(os.path.join(folder, "study.db"))

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

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"searching {', '.join(space)} for {args.model} on {args.dataset}: {args.trials} trials of {args.epochs} "
          f"epochs, {args.sampler} sampler; study {name!r} in {_shown(storage)}", file=sys.stderr)
    try:
        study = search(objective, space, args.trials, sampler=args.sampler, storage=storage, study_name=name,
                       seed=args.seed, grid_points=args.grid_points, prune=not args.no_prune)
    except ConfigError:
        if made and not os.listdir(folder):
            os.rmdir(folder)  # the storage could not be opened: leave no empty folder behind
        raise
    table = results_table(study)
    print(table)
    with open(os.path.join(folder, "results.txt"), "w") as f:
        f.write(table + "\n")
    plot_search(study, os.path.join(folder, "search.png"), space)
    best = study.best_trial
    print(f"best: trial {best.number}, validation accuracy {best.value:.4f}, "
          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()))
    print(f"study: {_shown(storage)} ({len(study.trials)} trials so far); table and plot in {folder}")
    return 0


def _shown(url):
    """The storage URL without its password (it goes to the terminal and to logs)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
