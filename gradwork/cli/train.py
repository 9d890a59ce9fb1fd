"""``gradwork train``: train a model on a data set and write a run folder.

Every option defaults to None on the command line, so the command knows which ones were given: a new
run fills the rest in (the model's own defaults for its options), and ``--resume`` refuses a given
option that disagrees with the run instead of silently ignoring it.
"""
import argparse
import datetime
import os
import sys
import time

import numpy as np

import gradwork
from gradwork import backend, data, distributed, models, train
from gradwork.cli.checks import FRACTION, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, int_list
from gradwork.cli.common import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule, default_lr, load_dataset
from gradwork.cli.language_model import LANGUAGE_MODEL, LanguageModelExperiment, language_model_config
from gradwork.cli.language_model import DEFAULTS as LANGUAGE_MODEL_DEFAULTS
from gradwork.cli.run_config import check_config, model_options
from gradwork.cli.run_folder import CURVES, RunFolder, SaveEveryEpoch
from gradwork.data.datasets import LOADERS
from gradwork.data.transforms import AUGMENTATIONS, augmentation
from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.models.mlp import ACTIVATIONS

DEFAULT_EPOCHS = 30
DEFAULTS = {"model": "lenet5", "dataset": "digits", "batch_size": 32, "optimizer": "adam", "schedule": "constant",
            "weight_decay": 0.0, "augment": "", "val_fraction": 0.2, "seed": 0}
# Settings that go into config.json, by who takes them (the model options: models.MODELS[name].options).
SHARED = ("epochs", "batch_size", "optimizer", "lr", "schedule", "weight_decay", "clip_grad_norm", "seed")
CLASSIFIER_ONLY = {"dataset": "char-rnn reads the text given with --text FILE",
                   "val_fraction": "char-rnn always holds out the last 5% of the text",
                   "augment": "augmentations transform images"}
MODEL_OPTIONS = ("hidden", "activation", "dropout", "batchnorm", "variant")
# Where the command line's default differs from the model's own: BatchNorm is something you switch on
# with --batchnorm (README: "What BatchNorm changes"), although VGGNet(...) in Python has it on.
COMMAND_LINE_DEFAULTS = {"batchnorm": False}
LANGUAGE_MODEL_ONLY = ("text", "seq_len", "cell", "embedding_dim")
LANGUAGE_MODEL_OPTIONS = ("hidden", "dropout", *LANGUAGE_MODEL_ONLY)
SETTINGS = ("model", *SHARED, *CLASSIFIER_ONLY, *MODEL_OPTIONS, *LANGUAGE_MODEL_ONLY)
CHANGEABLE_ON_RESUME = ("epochs", "lr")
TENSORBOARD = "tensorboard"  # the folder of a run's TensorBoard logs (--tensorboard without DIR)
NOT_HPARAMS = ("gradwork_version", "vocabulary")  # config fields that are not settings to compare runs by


def add_arguments(parser):
    parser.add_argument("--model", choices=[*models.MODELS, LANGUAGE_MODEL], metavar="MODEL",
                        help=f"architecture: {', '.join(models.MODELS)}, char-rnn (default lenet5)")
    parser.add_argument("--dataset", choices=LOADERS, metavar="DATASET",
                        help=f"data set: {', '.join(LOADERS)} (default digits)")
    parser.add_argument("--epochs", type=POSITIVE_INT,
                        help=f"total number of epochs (default {DEFAULT_EPOCHS}, char-rnn "
                             f"{LANGUAGE_MODEL_DEFAULTS['epochs']}; with --resume, the run's own)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, help="examples per step (default 32)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help=f"{'|'.join(OPTIMIZERS)} (default adam)")
    parser.add_argument("--lr", type=POSITIVE,
                        help="learning rate (default depends on the optimizer); with --resume, the new rate from "
                             "the next epoch on, recorded in config.json and in the history's lr column")
    parser.add_argument("--schedule", choices=SCHEDULES,
                        help="learning rate over the epochs: constant, cosine (annealed to 0 at the last epoch) "
                             "or step (x0.1 after each third of the epochs) (default constant)")
    parser.add_argument("--weight-decay", type=NON_NEGATIVE, help="L2 penalty / AdamW decay (default 0)")
    parser.add_argument("--dropout", type=FRACTION,
                        help=f"dropout probability ({', '.join(models.models_taking('dropout'))}, char-rnn; "
                             "default: the model's own, 0 for mlp and char-rnn, 0.5 for the others)")
    parser.add_argument("--hidden", type=int_list,
                        help="hidden layer sizes, comma-separated: mlp (default 256,128); char-rnn, one size per "
                             "recurrent layer (default 256)")
    parser.add_argument("--activation", choices=ACTIVATIONS, metavar="NAME", help="mlp activation: relu|leaky_relu|tanh|sigmoid|linear (default relu)")
    parser.add_argument("--batchnorm", action=argparse.BooleanOptionalAction,
                        help=f"BatchNorm after every convolution ({', '.join(models.models_taking('batchnorm'))}; "
                             "default off: --batchnorm turns it on)")
    parser.add_argument("--variant", choices=("modern", "classic"), help="lenet5: modern (ReLU, max-pool) or classic (tanh, avg-pool) (default modern)")
    parser.add_argument("--augment", help=f"training augmentation, comma-separated: "
                                          f"{','.join(AUGMENTATIONS)} (default none)")
    parser.add_argument("--clip-grad-norm", type=POSITIVE,
                        help="rescale gradients to at most this global norm each step (default: none; char-rnn 5)")
    parser.add_argument("--text", metavar="FILE",
                        help="char-rnn: UTF-8 text file to learn (default: the bundled Jargon File)")
    parser.add_argument("--seq-len", type=POSITIVE_INT, help="char-rnn: characters per BPTT chunk (default 64)")
    parser.add_argument("--cell", choices=("lstm", "gru", "rnn"), help="char-rnn: lstm, gru or rnn (default lstm)")
    parser.add_argument("--embedding-dim", type=POSITIVE_INT, help="char-rnn: embedding size (default 64)")
    parser.add_argument("--val-fraction", type=FRACTION,
                        help="share of the training split held out for validation; 0 trains on all of it "
                             "(default 0.2; char-rnn always holds out the last 5%% of the text)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, help="random seed: same seed, same run (default 0)")
    parser.add_argument("--device", default="cpu", metavar="DEVICE",
                        help="where to train: cpu (default), cuda, cuda:N, or auto (a GPU when there is one); a GPU "
                             "needs pip install \"gradwork[cuda]\"; a run may be resumed on another device")
    parser.add_argument("--out", default=None, help="run folder to create (default runs/<model>-<dataset>-<time>)")
    parser.add_argument("--resume", default=None, metavar="RUN",
                        help="continue the run in this folder up to --epochs (a run stopped before its first "
                             "epoch finished starts again from the beginning)")
    parser.add_argument("--verbose", type=NON_NEGATIVE_INT, default=1, choices=(0, 1, 2), help="0 quiet, 1 progress bars, 2 lines")
    parser.add_argument("--workers", type=POSITIVE_INT, metavar="N",
                        help="train on N processes, data-parallel over MPI: starts mpiexec -n N (the same as "
                             "mpiexec -n N gradwork train ...); --batch-size is per process, so a step's batch is "
                             "N times it; needs pip install \"gradwork[mpi]\"; not for char-rnn")
    parser.add_argument("--tensorboard", nargs="?", const="", default=None, metavar="DIR",
                        help="write TensorBoard logs (losses, metrics, lr, batch loss, curves, hyperparameters) to DIR "
                             f"(default RUN/{TENSORBOARD}; needs pip install \"gradwork[tensorboard]\"); --resume "
                             f"continues in RUN/{TENSORBOARD} if it exists, or in the DIR given again")


def option(name):
    return "--" + name.replace("_", "-")


def given_settings(args):
    """The settings given on the command line (or set by a caller such as `search`): name -> value."""
    return {name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None}


def check_options_fit_the_model(model, given):
    """Refuse an option the model does not take, naming the models that take it."""
    for name in given:
        if model == LANGUAGE_MODEL:
            if name in CLASSIFIER_ONLY:
                raise ConfigError(f"{option(name)} is not an option of char-rnn: {CLASSIFIER_ONLY[name]}")
            if name in MODEL_OPTIONS and name not in LANGUAGE_MODEL_OPTIONS:
                raise ConfigError(f"{option(name)} is not an option of char-rnn; the models that take it: "
                                  f"{', '.join(models.models_taking(name))}")
        elif name in LANGUAGE_MODEL_ONLY:
            raise ConfigError(f"{option(name)} is an option of char-rnn only, not of {model}")
        elif name in MODEL_OPTIONS and name not in models.MODELS[model].options:
            takers = models.models_taking(name) + ([LANGUAGE_MODEL] if name in LANGUAGE_MODEL_OPTIONS else [])
            raise ConfigError(f"{option(name)} is not an option of {model}; the models that take it: "
                              f"{', '.join(takers)}")


def config_from_args(args):
    """The config of a new run: the given settings, checked against the model, and defaults for the rest."""
    given = given_settings(args)
    model = given.get("model", DEFAULTS["model"])
    if model not in models.MODELS and model != LANGUAGE_MODEL:
        raise ConfigError(f"unknown model {model!r}; choose one of: {', '.join(models.MODELS)}, {LANGUAGE_MODEL}")
    check_options_fit_the_model(model, given)
    settings = {**DEFAULTS, **given}
    if model == LANGUAGE_MODEL:
        config = language_model_config({k: v for k, v in settings.items() if k not in CLASSIFIER_ONLY})
    else:
        config = {name: settings[name] for name in ("model", "dataset", "batch_size", "optimizer", "schedule",
                                                    "weight_decay", "augment", "seed", "val_fraction")}
        config["epochs"] = settings.get("epochs", DEFAULT_EPOCHS)
        config["lr"] = settings.get("lr", default_lr(settings["optimizer"]))
        config["clip_grad_norm"] = settings.get("clip_grad_norm")
        for name, default in models.MODELS[model].options.items():
            value = settings.get(name, COMMAND_LINE_DEFAULTS.get(name, default))
            config[name] = list(value) if isinstance(value, tuple) else value
        config["gradwork_version"] = gradwork.__version__
        augmentation(config["augment"], 1)  # rejects unknown names before anything is loaded
    return check_config(config, "the options")  # values set by a caller (search) get the command line's checks


def resumed_config(config, args, folder):
    """The run's own config, with ``--epochs`` and ``--lr`` applied; any other option given must agree."""
    if args.out is not None:
        raise ConfigError(f"--out and --resume do not go together: a resumed run stays in its folder {folder.path}")
    given = given_settings(args)
    check_options_fit_the_model(config["model"], given)
    conflicts = []
    for name, value in given.items():
        recorded = config.get(name)
        if name == "text" and value is not None:
            value = os.path.abspath(value)
        if name not in CHANGEABLE_ON_RESUME and value != recorded:
            conflicts.append(f"{option(name)} {_shown(value)} (the run has {_shown(recorded)})")
    if conflicts:
        raise ConfigError(f"--resume continues {folder.path} with the settings in its config.json, and "
                          f"{'; '.join(conflicts)} disagree{'s' if len(conflicts) == 1 else ''} with them; leave "
                          f"{'it' if len(conflicts) == 1 else 'them'} out (only --epochs and --lr can change when "
                          "resuming), or start a new run with --out")
    return {**config, **{name: given[name] for name in CHANGEABLE_ON_RESUME if name in given}}


def _shown(value):
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


class Experiment:
    """The objects of one run, rebuilt the same way for a fresh run and for a resumed one."""

    def __init__(self, config):
        backend.manual_seed(config["seed"])
        train_set, self.test_set, self.input_shape, self.num_classes = load_dataset(config["dataset"])
        if config["val_fraction"] > 0:
            held_out = round(len(train_set) * config["val_fraction"])
            if not 0 < held_out < len(train_set):
                raise ConfigError(f"--val-fraction {config['val_fraction']:g} of {len(train_set)} training examples "
                                  f"holds out {held_out}: leave examples on both sides (between "
                                  f"{1 / len(train_set):.2g} and {1 - 1 / len(train_set):.4g}), or give 0 for no "
                                  "validation split")
            self.train_set, self.val_set = data.train_val_split(train_set, config["val_fraction"])
        else:  # every training example is trained on; the test split stays untouched
            self.train_set, self.val_set = train_set, None
        self.model = models.build_model(config["model"], self.input_shape, self.num_classes, **model_options(config))
        augment = config["augment"]
        transform = augmentation(augment, self.input_shape[-1]) if augment else None
        if transform is not None and transform.learns:
            transform.fit(self.train_set.get_batch(slice(None))[0])
        self.train_loader = data.DataLoader(self.train_set, batch_size=config["batch_size"], shuffle=True,
                                            transform=transform)
        self.optimizer = build_optimizer(config["optimizer"], self.model.parameters(), config["lr"],
                                         config["weight_decay"])
        self.scheduler = build_schedule(config["schedule"], self.optimizer, config["epochs"])
        self.config = config

    def split(self, name):
        """The examples of split ``name`` ("train", "val" or "test"); a clear error for a missing val split."""
        if name == "val" and self.val_set is None:
            raise ConfigError("this run has no validation split: it was trained with --val-fraction 0 (on every "
                              "training example); use --split train or --split test, or train a new run with "
                              "--val-fraction 0.2")
        return {"train": self.train_set, "val": self.val_set, "test": self.test_set}[name]

    def describe(self):
        c = self.config
        return (f"{c['model']} on {c['dataset']}: {len(self.train_set)} train / {len(self.val_set or ())} validation / "
                f"{len(self.test_set)} test examples, {self.model.num_parameters():,} parameters, "
                f"{c['optimizer']} lr={c['lr']:g}")

    def fit(self, callbacks, verbose, initial_epoch, history):
        return train.fit(self.model, self.train_loader, loss="cross_entropy", optimizer=self.optimizer,
                         epochs=self.config["epochs"], val_data=self.val_set, scheduler=self.scheduler,
                         batch_size=self.config["batch_size"], callbacks=callbacks, verbose=verbose,
                         initial_epoch=initial_epoch, history=history, clip_grad_norm=self.config["clip_grad_norm"],
                         on_divergence="stop",  # history.diverged and history.stop_reason say it
                         distributed=distributed.world_size() > 1)  # one rank of several (mpiexec -n N)

    def report(self):
        """Lines that say how good the trained model is on the test split."""
        results = train.evaluate(self.model, self.test_set, loss="cross_entropy")
        return [f"test accuracy: {results['accuracy']:.4f} (loss {results['loss']:.4f}) on {len(self.test_set)} "
                f"examples"]


def build_experiment(config):
    if distributed.world_size() > 1:
        check_data_parallel(config)
    return LanguageModelExperiment(config) if config["model"] == LANGUAGE_MODEL else Experiment(config)


def check_data_parallel(config):
    if config["model"] == LANGUAGE_MODEL:
        raise ConfigError("char-rnn does not train on several processes (each batch carries the recurrent state "
                          "on to the next): train it without --workers or mpiexec")


def _resume(args):
    """The folder, experiment, history and first epoch of a resumed run (checkpoint loaded: on every rank
    of a data-parallel run, whatever their number; rank 0 alone prints and writes)."""
    main = distributed.is_main()
    folder = RunFolder(args.resume)
    config = resumed_config(folder.read_config(), args, folder)
    experiment = build_experiment(config)
    if not folder.has_checkpoint():  # stopped during its first epoch: nothing was lost but time
        if main:
            print(f"{folder.path} never finished an epoch: starting it from the beginning", file=sys.stderr)
            folder.write_config(config)
        return folder, experiment, None, 0
    history, done = folder.resume(experiment.model, experiment.optimizer, config["epochs"], speak=main)
    # The learning rate is the run's (or the new --lr), wherever the schedule has got to by now.
    groups = experiment.optimizer.param_groups
    if experiment.scheduler is not None:
        experiment.scheduler.load_state_dict({"last_epoch": done, "base_lrs": [config["lr"]] * len(groups)})
    else:
        for group in groups:
            group["lr"] = config["lr"]
    if main:
        folder.write_config(config)
    return folder, experiment, history, done


def tensorboard_callbacks(args, folder):
    """``--tensorboard [DIR]``: a ``TensorBoard`` writing to DIR or RUN/tensorboard (and, resuming, to
    RUN/tensorboard when it exists); made before the run folder is touched, so that a missing tensorboardX
    stops the command first. The option is not recorded in config.json."""
    default = folder.file(TENSORBOARD)
    given = getattr(args, "tensorboard", None)
    if given is None and not (args.resume and os.path.isdir(default)):
        return []
    return [train.TensorBoard(given or default)]


def run(args):
    if distributed.launched():  # one rank of mpiexec -n N: a rank that fails names itself and ends them all
        return distributed.run_rank(train_here, args, name="gradwork train")
    if args.workers is not None and args.workers > 1:
        return start_workers(args)
    return train_here(args)


def place_on(experiment, device, ranks):
    """Move the model and its optimiser state to ``device`` (batches follow the model in ``fit``)."""
    if device.type == "cpu":
        return
    if experiment.config["model"] == LANGUAGE_MODEL:
        raise ConfigError("char-rnn trains on the CPU only: leave out --device (or give --device cpu)")
    if ranks > 1:
        raise ConfigError("data-parallel training (--workers, mpiexec) runs on CPUs only: leave out --device")
    experiment.model.to(device)
    experiment.optimizer.to(device)


def start_workers(args):
    """``--workers N``: check the options here once, then run this command as N ranks under mpiexec."""
    if args.resume:
        folder = RunFolder(args.resume)
        config = resumed_config(folder.read_config(), args, folder)
    else:
        config = config_from_args(args)
    check_data_parallel(config)
    return distributed.run_workers(args.workers, getattr(args, "argv", sys.argv[1:]))


def train_here(args):
    """Train in this process: alone, or as one rank of several (rank 0 writes the run folder and prints)."""
    if args.workers is not None and distributed.launched():
        raise ConfigError("--workers starts mpiexec itself, and this command already runs under mpiexec: leave "
                          "--workers out (mpiexec -n N gradwork train ...), or leave mpiexec out")
    main = distributed.is_main()
    device = backend.Device(args.device)
    if device.type != "cpu":  # a first array there, before anything is built: no CuPy or no GPU is one line
        backend.to_device(np.zeros(1), device)
    if args.resume:
        callbacks = tensorboard_callbacks(args, RunFolder(args.resume)) if main else []
        folder, experiment, history, initial_epoch = _resume(args)
        created = False
    else:
        config = config_from_args(args)
        name = f"{config['model']}-{config['dataset']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        folder = RunFolder(args.out or os.path.join("runs", name))
        callbacks = tensorboard_callbacks(args, folder) if main else []
        experiment = build_experiment(config)  # data and model first: a failure here leaves no folder behind
        if main:
            folder.create(config)
        history, initial_epoch, created = None, 0, main
    config = experiment.config
    place_on(experiment, device, ranks=distributed.world_size())
    for callback in callbacks:
        callback.hparams = {k: v for k, v in config.items() if k not in NOT_HPARAMS}

    ranks = distributed.world_size()
    if main:
        print(experiment.describe() + (f"; {ranks} processes × batch {config['batch_size']}" if ranks > 1 else ""),
              file=sys.stderr)
    start = time.perf_counter()
    try:
        # A diverging run is reported once, from history.stop_reason below: NumPy's overflow warnings
        # would only repeat it less clearly.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = experiment.fit([SaveEveryEpoch(folder), *callbacks] if main else [], args.verbose,
                                     initial_epoch, history)
    except BaseException:  # Ctrl-C, SIGTERM (see main), a full disk, a bug: keep only finished epochs
        if created and not folder.has_checkpoint():
            folder.discard()  # nothing finished: leave no half run behind
        elif main and folder.has_checkpoint():
            print(f"\nstopped; the run is saved after its last finished epoch: continue it with "
                  f"gradwork train --resume {folder.path}", file=sys.stderr)
        raise
    seconds = time.perf_counter() - start
    if not main:
        return 0  # rank 0 draws the curves and reports
    if history.diverged:
        if created and not folder.has_checkpoint():
            folder.discard()
            raise TrainingDivergedError(history.stop_reason)
        raise TrainingDivergedError(f"{history.stop_reason} The run folder {folder.path} keeps the last finished "
                                    f"epoch ({len(history)}).")
    if len(history):
        from gradwork.tools.viz import plot_history  # matplotlib: imported only when a run has curves to draw
        plot_history(history, folder.file(CURVES), title=f"{config['model']} on {config['dataset']}")
    if history.stop_reason:
        print(history.stop_reason, file=sys.stderr)
    print(f"trained {len(history) - initial_epoch} epochs in {seconds:.1f}s")
    for line in experiment.report():
        print(line)
    print(f"run folder: {folder.path}")
    return 0
