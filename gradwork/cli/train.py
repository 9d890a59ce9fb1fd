"""``gradwork train``: train a model on a data set and write a run folder."""
import datetime
import os
import shutil
import sys
import time
import warnings

import numpy as np

import gradwork
from gradwork import backend, data, models, train
from gradwork.cli.common import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule, default_lr, load_dataset
from gradwork.cli.language_model import LANGUAGE_MODEL, LanguageModelExperiment, language_model_config
from gradwork.cli.run_folder import CURVES, RunFolder, SaveEveryEpoch
from gradwork.data.datasets import LOADERS
from gradwork.data.transforms import AUGMENTATIONS, augmentation
from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.tools.viz import plot_history


DEFAULT_EPOCHS = 30
LANGUAGE_MODEL_EPOCHS = 5


def add_arguments(parser):
    parser.add_argument("--model", default="lenet5",
                        help=f"architecture: {', '.join(models.MODELS)}, char-rnn (default lenet5)")
    parser.add_argument("--dataset", default="digits", help=f"data set: {', '.join(LOADERS)} (default digits)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"total number of epochs (default {DEFAULT_EPOCHS}, char-rnn {LANGUAGE_MODEL_EPOCHS}; "
                             "with --resume, the run's own)")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default 32)")
    parser.add_argument("--optimizer", default="adam", help=f"{'|'.join(OPTIMIZERS)} (default adam)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default depends on the optimizer)")
    parser.add_argument("--schedule", default="constant", choices=SCHEDULES,
                        help="learning rate over the epochs: constant, cosine (annealed to 0 at the last epoch) "
                             "or step (x0.1 after each third of the epochs) (default constant)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty / AdamW decay (default 0)")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout probability in hidden layers (default 0)")
    parser.add_argument("--hidden", default=None,
                        help="hidden layer sizes, comma-separated: MLP (default 256,128); char-rnn, one size per "
                             "recurrent layer (default 256)")
    parser.add_argument("--activation", default="relu", help="MLP activation: relu|leaky_relu|tanh|sigmoid|linear")
    parser.add_argument("--batchnorm", action="store_true", help="BatchNorm after every convolution (vggnet, vgg16)")
    parser.add_argument("--variant", default="modern", help="lenet5: modern (ReLU, max-pool) or classic (tanh, avg-pool)")
    parser.add_argument("--augment", default="", help=f"training augmentation, comma-separated: "
                                                      f"{','.join(AUGMENTATIONS)} (default none)")
    parser.add_argument("--clip-grad-norm", type=float, default=None,
                        help="rescale gradients to at most this global norm each step (default: none; char-rnn 5)")
    parser.add_argument("--text", default=None, metavar="FILE",
                        help="char-rnn: UTF-8 text file to learn (default: the bundled Jargon File)")
    parser.add_argument("--seq-len", type=int, default=64, help="char-rnn: characters per BPTT chunk (default 64)")
    parser.add_argument("--cell", default="lstm", help="char-rnn: lstm, gru or rnn (default lstm)")
    parser.add_argument("--embedding-dim", type=int, default=64, help="char-rnn: embedding size (default 64)")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of the training split held out for validation; 0 trains on all of it "
                             "(default 0.2; char-rnn always holds out the last 5%% of the text)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same run (default 0)")
    parser.add_argument("--out", default=None, help="run folder to create (default runs/<model>-<dataset>-<time>)")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue the run in this folder up to --epochs")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="0 quiet, 1 progress bars, 2 lines")


def _hidden(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--hidden must be comma-separated integers such as 128,64; got {text!r}") from None
    if any(s <= 0 for s in sizes):
        raise ConfigError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _default_hidden(model):
    return "256" if model == LANGUAGE_MODEL else "256,128"


def config_from_args(args):
    if args.epochs is None:
        args.epochs = LANGUAGE_MODEL_EPOCHS if args.model == LANGUAGE_MODEL else DEFAULT_EPOCHS
    if args.epochs <= 0:
        raise ConfigError(f"--epochs must be positive, got {args.epochs}")
    if args.batch_size <= 0:
        raise ConfigError(f"--batch-size must be positive, got {args.batch_size}")
    if args.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {args.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if args.model not in models.MODELS and args.model != LANGUAGE_MODEL:
        raise ConfigError(f"unknown model {args.model!r}; choose one of: {', '.join(models.MODELS)}")
    if args.dataset not in LOADERS:
        raise ConfigError(f"unknown dataset {args.dataset!r}; choose one of: {', '.join(LOADERS)}")
    if args.lr is not None and not args.lr > 0:
        raise ConfigError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.dropout < 1:
        raise ConfigError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.weight_decay < 0:
        raise ConfigError(f"--weight-decay must be non-negative, got {args.weight_decay}")
    if args.seed < 0:
        raise ConfigError(f"--seed must be non-negative, got {args.seed}")
    if not 0 <= args.val_fraction < 1:
        raise ConfigError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    if args.clip_grad_norm is not None and not args.clip_grad_norm > 0:
        raise ConfigError(f"--clip-grad-norm must be positive, got {args.clip_grad_norm}")
    hidden = _hidden(args.hidden if args.hidden is not None else _default_hidden(args.model))
    if args.model == LANGUAGE_MODEL:
        return language_model_config(args, hidden)
    augmentation(args.augment, 1)  # rejects unknown names before anything is loaded
    return {
        "model": args.model, "dataset": args.dataset, "epochs": args.epochs, "batch_size": args.batch_size,
        "optimizer": args.optimizer, "lr": args.lr if args.lr is not None else default_lr(args.optimizer),
        "schedule": args.schedule, "weight_decay": args.weight_decay, "dropout": args.dropout, "hidden": hidden,
        "clip_grad_norm": args.clip_grad_norm,
        "activation": args.activation, "batchnorm": args.batchnorm, "variant": args.variant,
        "augment": args.augment, "seed": args.seed, "val_fraction": args.val_fraction,
        "gradwork_version": gradwork.__version__,
    }


class Experiment:
    """The objects of one run, rebuilt the same way for a fresh run and for a resumed one."""

    def __init__(self, config):
        backend.manual_seed(config["seed"])
        train_set, self.test_set, self.input_shape, self.num_classes = load_dataset(config["dataset"])
        if config["val_fraction"] > 0:
            self.train_set, self.val_set = data.train_val_split(train_set, config["val_fraction"])
        else:  # every training example is trained on; the test split stays untouched
            self.train_set, self.val_set = train_set, None
        self.model = models.build_model(config["model"], self.input_shape, self.num_classes,
                                        hidden=config["hidden"], activation=config["activation"],
                                        dropout=config["dropout"], batchnorm=config.get("batchnorm", False),
                                        variant=config.get("variant", "modern"))
        augment = config.get("augment", "")
        transform = augmentation(augment, self.input_shape[-1]) if augment else None
        if transform is not None and transform.learns:
            transform.fit(self.train_set.get_batch(slice(None))[0])
        self.train_loader = data.DataLoader(self.train_set, batch_size=config["batch_size"], shuffle=True,
                                            transform=transform)
        self.optimizer = build_optimizer(config["optimizer"], self.model.parameters(), config["lr"],
                                         config["weight_decay"])
        self.scheduler = build_schedule(config.get("schedule", "constant"), self.optimizer, config["epochs"])
        self.config = config

    def describe(self):
        c = self.config
        return (f"{c['model']} on {c['dataset']}: {len(self.train_set)} train / {len(self.val_set or ())} validation / "
                f"{len(self.test_set)} test examples, {self.model.num_parameters():,} parameters, "
                f"{c['optimizer']} lr={c['lr']:g}")

    def fit(self, callbacks, verbose, initial_epoch, history):
        return train.fit(self.model, self.train_loader, loss="cross_entropy", optimizer=self.optimizer,
                         epochs=self.config["epochs"], val_data=self.val_set, scheduler=self.scheduler,
                         batch_size=self.config["batch_size"], callbacks=callbacks, verbose=verbose,
                         initial_epoch=initial_epoch, history=history,
                         clip_grad_norm=self.config.get("clip_grad_norm"))

    def report(self):
        """Lines that say how good the trained model is on the test split."""
        results = train.evaluate(self.model, self.test_set, loss="cross_entropy")
        return [f"test accuracy: {results['accuracy']:.4f} (loss {results['loss']:.4f}) on {len(self.test_set)} "
                f"examples"]


def build_experiment(config):
    return LanguageModelExperiment(config) if config["model"] == LANGUAGE_MODEL else Experiment(config)


def run(args):
    if args.resume:
        folder = RunFolder(args.resume)
        config = folder.read_config()
        if args.epochs is not None:
            if args.epochs <= 0:
                raise ConfigError(f"--epochs must be positive, got {args.epochs}")
            config["epochs"] = args.epochs
        experiment = build_experiment(config)
        if not folder.has_checkpoint():
            raise ConfigError(f"{folder.path} has no model.safetensors yet: nothing to resume; start a new run")
        checkpoint = folder.load_checkpoint(experiment.model, experiment.optimizer)
        history, initial_epoch, created = folder.read_history(), checkpoint.epoch, False
        if experiment.scheduler is not None:  # the schedule is a function of the epoch: pick it up there
            experiment.scheduler.load_state_dict({"last_epoch": initial_epoch,
                                                  "base_lrs": experiment.scheduler.base_lrs})
        if initial_epoch >= config["epochs"]:
            print(f"{folder.path} already has {initial_epoch} epochs; pass --epochs N with N > {initial_epoch} "
                  "to train further", file=sys.stderr)
        folder.write_config(config)
    else:
        config = config_from_args(args)
        name = f"{config['model']}-{config['dataset']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        folder = RunFolder(args.out or os.path.join("runs", name))
        experiment = build_experiment(config)  # data and model first: a failure here leaves no folder behind
        folder.create()
        folder.write_config(config)
        history, initial_epoch, created = None, 0, True

    print(experiment.describe(), file=sys.stderr)
    start = time.perf_counter()
    try:
        # A diverging run is reported once, by the NaN guard's message below: NumPy's overflow
        # warnings and the guard's own warning would only repeat it less clearly.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="loss became", category=RuntimeWarning)
            history = experiment.fit([SaveEveryEpoch(folder)], args.verbose, initial_epoch, history)
    except BaseException:
        if created and not folder.has_checkpoint():
            shutil.rmtree(folder.path, ignore_errors=True)  # nothing finished: leave no half run behind
        elif folder.has_checkpoint():
            print(f"\nstopped; the run is saved after its last finished epoch: continue it with "
                  f"gradwork train --resume {folder.path}", file=sys.stderr)
        raise
    seconds = time.perf_counter() - start
    if history.diverged:
        if created and not folder.has_checkpoint():
            shutil.rmtree(folder.path, ignore_errors=True)
        raise TrainingDivergedError(history.stop_reason)
    if len(history):
        plot_history(history, folder.file(CURVES), title=f"{config['model']} on {config['dataset']}")
    if history.stop_reason:
        print(history.stop_reason, file=sys.stderr)
    print(f"trained {len(history)} epochs in {seconds:.1f}s")
    for line in experiment.report():
        print(line)
    print(f"run folder: {folder.path}")
    return 0
