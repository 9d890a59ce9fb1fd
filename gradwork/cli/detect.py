"""``gradwork detect train`` and ``gradwork detect evaluate RUN``: a one-scale YOLO detector trained on
canvases of pasted Fashion-MNIST items (:mod:`gradwork.data.detection`), and its mean average precision.

A detection run is a run folder like ``gradwork train``'s (config.json, model.safetensors with the
optimizer state and history, history.json, curves.png; every file written atomically, and
``--resume`` continues a run after its last finished epoch). Its config.json says ``"task":
"detection"``; the anchors, found by k-means on the training boxes' sizes, are recorded there and
saved with the weights (a buffer of the model).

``detect evaluate`` makes the test canvases (always the same ones: they depend on nothing but their
number), prints mAP@0.5 and each class's AP, and writes predictions.png (boxes, class names and scores on
test canvases) and precision_recall.png into the run folder.
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

import gradwork
from gradwork import backend, data, train
from gradwork.cli.checks import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, PROBABILITY, int_list
from gradwork.cli.common import build_optimizer, build_schedule
from gradwork.cli.run_config import REQUIRED, _get, one_of, rule, sizes
from gradwork.cli.run_folder import CURVES, RunFolder, SaveEveryEpoch
from gradwork.data.detection import CANVAS_SIZE, detection_canvases
from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.models.detector import TinyYOLO
from gradwork.vision import yolo
from gradwork.vision.plot_detections import plot_detections

TASK = "detection"
MODEL = "tiny-yolo"
DATASETS = ("fashion-mnist", "mnist", "digits")
DEFAULTS = {"dataset": "fashion-mnist", "train_canvases": 40_000, "epochs": 12, "batch_size": 32, "lr": 3e-3,
            "num_anchors": 5, "patch": 4, "widths": [48, 96], "head_blocks": 3, "seed": 0}  # the README's run
OPTIMIZER, SCHEDULE = "adam", "cosine"
SETTINGS = tuple(DEFAULTS)
CHANGEABLE_ON_RESUME = ("epochs", "lr")
TEST_CANVASES = 1000
#: The test canvases are the same for every run (seed 0 of the test split), so runs compare.
TEST_SEED = 0
#: Detections down to this confidence count for mAP (the precision–recall curve needs the low ones);
#: the picture shows those above PICTURE_THRESHOLD.
MAP_THRESHOLD, PICTURE_THRESHOLD = 0.01, 0.5
PREDICTIONS, PR_CURVE = "predictions.png", "precision_recall.png"


def add_arguments(parser):
    sub = parser.add_subparsers(dest="detect_command", metavar="ACTION")
    debug_help = "on an error, show the full traceback (for reporting a problem)"
    p = sub.add_parser("train", help="train a one-scale YOLO detector on canvases of pasted items",
                       description="train a one-scale YOLO detector on canvases of 1–4 pasted items")
    p.add_argument("--dataset", choices=DATASETS,
                   help="where the items come from: fashion-mnist (default), mnist, or digits (scikit-learn's "
                        "bundled 8×8 digits, for quick tries without files)")
    p.add_argument("--train-canvases", type=POSITIVE_INT,
                   help=f"training canvases, made from the training split (default {DEFAULTS['train_canvases']:,})")
    p.add_argument("--epochs", type=POSITIVE_INT,
                   help=f"total number of epochs (default {DEFAULTS['epochs']}; with --resume, the run's own)")
    p.add_argument("--batch-size", type=POSITIVE_INT, help=f"canvases per step (default {DEFAULTS['batch_size']})")
    p.add_argument("--lr", type=POSITIVE, help=f"Adam's learning rate, annealed by a cosine to 0 at the last epoch "
                                               f"(default {DEFAULTS['lr']:g}); with --resume, the new rate")
    p.add_argument("--num-anchors", type=POSITIVE_INT,
                   help=f"anchors per cell, sized by k-means on the training boxes (default {DEFAULTS['num_anchors']})")
    p.add_argument("--patch", type=POSITIVE_INT,
                   help=f"the stem moves each PATCH×PATCH pixels into channels (space to depth; 1: no stem) "
                        f"(default {DEFAULTS['patch']})")
    p.add_argument("--widths", type=int_list,
                   help="channels of the backbone's blocks, comma-separated; each but the last is followed by a "
                        "max-pool, so the stride is PATCH·2^(count − 1) (default 48,96: stride 8)")
    p.add_argument("--head-blocks", type=POSITIVE_INT,
                   help=f"conv blocks at the grid's resolution before the 1×1 head (default {DEFAULTS['head_blocks']})")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, help="random seed: same seed, same canvases and run (default 0)")
    p.add_argument("--out", help="run folder to create (default runs/tiny-yolo-<dataset>-<time>)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder up to --epochs")
    p.add_argument("--verbose", type=NON_NEGATIVE_INT, default=1, choices=(0, 1, 2), help="0 quiet, 1 progress bars, 2 lines")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)

    p = sub.add_parser("evaluate", help="mAP@0.5 of a detection run on test canvases, and pictures",
                       description="mAP@0.5 of a detection run on test canvases; writes predictions.png and "
                                   "precision_recall.png into the run folder")
    p.add_argument("run", metavar="RUN", help="a run folder written by `gradwork detect train`")
    p.add_argument("--canvases", type=POSITIVE_INT, default=TEST_CANVASES,
                   help=f"test canvases, made from the test split (default {TEST_CANVASES:,})")
    p.add_argument("--iou-threshold", type=PROBABILITY, default=0.5,
                   help="IoU with a true box for a detection to count as found (default 0.5: mAP@0.5)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)


def run(args):
    if args.detect_command == "train":
        return run_train(args)
    if args.detect_command == "evaluate":
        return run_evaluate(args)
    raise ConfigError("say what to do: gradwork detect train … or gradwork detect evaluate RUN "
                      "(see gradwork detect --help)")


# ------------------------------------------------------------------ the run's settings

CHECKS = {  # each field of a detection run's config.json: the check it must pass (the command line's own)
    "task": one_of([TASK]),
    "model": one_of([MODEL]),
    "dataset": one_of(list(DATASETS)),
    "train_canvases": rule(POSITIVE_INT),
    "epochs": rule(POSITIVE_INT),
    "batch_size": rule(POSITIVE_INT),
    "lr": rule(POSITIVE),
    "num_anchors": rule(POSITIVE_INT),
    "patch": rule(POSITIVE_INT),
    "widths": sizes,
    "head_blocks": rule(POSITIVE_INT),
    "seed": rule(NON_NEGATIVE_INT),
    "anchors": lambda value, where: _anchors(value, where),
}


def _anchors(value, where):
    try:
        return yolo.as_anchors(value).tolist()
    except (ValueError, TypeError):
        raise ConfigError(f"{where} must be a list of positive [width, height] pairs, got {value!r}") from None


class DetectionRunFolder(RunFolder):
    """A run folder whose config.json describes a detection run (checked field by field on reading)."""

    def read_config(self):
        path = self.file("config.json")
        if not os.path.isfile(path):
            what = ("is not a run folder: it has no config.json" if self.exists() else
                    "is a file, not a run folder" if os.path.exists(self.path) else "does not exist")
            raise ConfigError(f"{self.path} {what} (give the folder that `gradwork detect train` wrote)")
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except (ValueError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path} is not valid JSON ({error}); the run folder is damaged") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{path} must hold a JSON object of settings; the run folder is damaged")
        if config.get("task") != TASK:
            raise ConfigError(f"{self.path} is not a detection run (its config.json has no \"task\": \"{TASK}\"); "
                              "a classification run is evaluated with gradwork evaluate RUN")
        checked = {name: _get(config, name, check, REQUIRED, path) for name, check in CHECKS.items()}
        if len(checked["anchors"]) != checked["num_anchors"]:
            raise ConfigError(f"{path}: field 'anchors' lists {len(checked['anchors'])} anchors but 'num_anchors' is "
                              f"{checked['num_anchors']}; the run folder is damaged")
        return {**config, **checked}


def new_config(args):
    given = {name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None}
    config = {"task": TASK, "model": MODEL, **DEFAULTS, **given, "optimizer": OPTIMIZER, "schedule": SCHEDULE}
    config["widths"] = list(config["widths"])
    stride = config["patch"] * 2 ** (len(config["widths"]) - 1)
    if CANVAS_SIZE % stride:
        raise ConfigError(f"--patch {config['patch']} and --widths {_shown(config['widths'])} give a stride of "
                          f"{stride}, which does not divide the {CANVAS_SIZE}-pixel canvas; give a stride that "
                          "does (8 is the default: patch 4, two widths)")
    config["gradwork_version"] = gradwork.__version__
    return config


def resumed_config(config, args, folder):
    if args.out is not None:
        raise ConfigError(f"--out and --resume do not go together: a resumed run stays in its folder {folder.path}")
    given = {name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None}
    conflicts = [f"--{name.replace('_', '-')} {_shown(value)} (the run has {_shown(config[name])})"
                 for name, value in given.items() if name not in CHANGEABLE_ON_RESUME and value != config[name]]
    if conflicts:
        raise ConfigError(f"--resume continues {folder.path} with the settings in its config.json, and "
                          f"{'; '.join(conflicts)} disagree with them; leave them out (only --epochs and --lr can "
                          "change when resuming), or start a new run with --out")
    return {**config, **{name: given[name] for name in CHANGEABLE_ON_RESUME if name in given}}


def _shown(value):
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


# ------------------------------------------------------------------ the run's objects

def load_source(name):
    """The (train, test) classification data set the items come from."""
    return data.datasets.load(name)


class DetectionExperiment:
    """Canvases, anchors, model, targets, optimizer and schedule of one run, rebuilt the same way for a
    fresh run, a resumed one and an evaluation (``training=False``: no training canvases)."""

    def __init__(self, config, training=True):
        backend.manual_seed(config["seed"])
        self.config = config
        self.source = load_source(config["dataset"])
        if training:
            self.train_set = detection_canvases(self.source, "train", config["train_canvases"], seed=config["seed"])
            if config.get("anchors") is None:
                config["anchors"] = anchors_for(self.train_set, config["num_anchors"])
        self.classes = self.source[0].classes
        self.model = TinyYOLO(config["anchors"], num_classes=len(self.classes), patch=config["patch"],
                              widths=config["widths"], head_blocks=config["head_blocks"])
        self.stride = self.model.stride
        if training:
            grid = CANVAS_SIZE // self.stride
            targets = yolo.yolo_targets(self.train_set.boxes, self.train_set.labels, config["anchors"], self.stride,
                                        grid, len(self.classes))
            # fit's loop reads (inputs, target) batches: the canvases and their encoded YOLO targets
            self.train_loader = data.DataLoader(data.ArrayDataset(self.train_set.images, targets),
                                                batch_size=config["batch_size"], shuffle=True)
            self.optimizer = build_optimizer(OPTIMIZER, self.model.parameters(), config["lr"])
            self.scheduler = build_schedule(SCHEDULE, self.optimizer, config["epochs"])

    def describe(self):
        c = self.config
        anchors = ", ".join(f"{w:.0f}×{h:.0f}" for w, h in c["anchors"])
        return (f"{MODEL} on {c['train_canvases']:,} {c['dataset']} canvases: {self.model.num_parameters():,} "
                f"parameters, stride {self.stride}, anchors {anchors} px, adam lr={c['lr']:g} (cosine)")

    def fit(self, callbacks, verbose, initial_epoch, history):
        return train.fit(self.model, self.train_loader, loss=yolo.yolo_loss, optimizer=self.optimizer, metrics=(),
                         epochs=self.config["epochs"], scheduler=self.scheduler, callbacks=callbacks, verbose=verbose,
                         initial_epoch=initial_epoch, history=history, on_divergence="stop")

    def predict(self, images, conf_threshold, batch_size=250):
        """Detections (one dict per image) for images (N, 1, 96, 96)."""
        detections = []
        for start in range(0, len(images), batch_size):
            output = train.predict(self.model, images[start:start + batch_size], batch_size)
            detections += yolo.postprocess(output, self.config["anchors"], self.stride, len(self.classes),
                                           conf_threshold=conf_threshold)
        return detections


def anchors_for(canvases, k):
    """``k`` anchors by k-means (1 − IoU) on the sizes of the training boxes, rounded to 0.1 pixel."""
    wh = np.concatenate([b[:, 2:] - b[:, :2] for b in canvases.boxes])
    if len(wh) < k:
        raise ConfigError(f"--num-anchors {k} is more than the {len(wh)} training boxes; give fewer anchors or "
                          "more --train-canvases")
    return np.round(yolo.kmeans_anchors(wh, k), 1).tolist()


# ------------------------------------------------------------------ detect train

def run_train(args):
    if args.resume:
        folder = DetectionRunFolder(args.resume)
        config = resumed_config(folder.read_config(), args, folder)
        experiment = DetectionExperiment(config)
        history, initial_epoch = _restore(folder, experiment)
        created = False
    else:
        config = new_config(args)
        folder = DetectionRunFolder(args.out or os.path.join(
            "runs", f"{MODEL}-{config['dataset']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"))
        experiment = DetectionExperiment(config)  # data and model first: a failure here leaves no folder behind
        folder.create(config)
        history, initial_epoch, created = None, 0, True
    print(experiment.describe(), file=sys.stderr)
    start = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = experiment.fit([SaveEveryEpoch(folder)], args.verbose, initial_epoch, history)
    except BaseException:  # Ctrl-C, SIGTERM, a full disk: keep only finished epochs
        if created and not folder.has_checkpoint():
            folder.discard()
        elif folder.has_checkpoint():
            print(f"\nstopped; the run is saved after its last finished epoch: continue it with "
                  f"gradwork detect train --resume {folder.path}", file=sys.stderr)
        raise
    seconds = time.perf_counter() - start
    if history.diverged:
        if created and not folder.has_checkpoint():
            folder.discard()
        raise TrainingDivergedError(history.stop_reason)
    if len(history):
        from gradwork.tools.viz import plot_history
        plot_history(history, folder.file(CURVES), title=f"{MODEL} on {config['dataset']} canvases")
    print(f"trained {len(history) - initial_epoch} epochs in {seconds:.1f}s")
    print(f"run folder: {folder.path} (measure it with gradwork detect evaluate {folder.path})")
    return 0


def _restore(folder, experiment):
    """Load the run's last epoch into ``experiment``: (history, epochs done); (None, 0) for a run that
    never finished an epoch (it starts again from the beginning)."""
    config = experiment.config
    if not folder.has_checkpoint():
        print(f"{folder.path} never finished an epoch: starting it from the beginning", file=sys.stderr)
        folder.write_config(config)
        return None, 0
    history, done = folder.resume(experiment.model, experiment.optimizer, config["epochs"])
    groups = experiment.optimizer.param_groups
    experiment.scheduler.load_state_dict({"last_epoch": done, "base_lrs": [config["lr"]] * len(groups)})
    folder.write_config(config)
    return history, done


# ------------------------------------------------------------------ detect evaluate

def run_evaluate(args):
    from gradwork.vision import detection_metrics as metrics

    folder = DetectionRunFolder(args.run)
    config = folder.read_config()
    folder.require_checkpoint("gradwork detect train")
    experiment = DetectionExperiment(config, training=False)
    folder.load_checkpoint(experiment.model, optimizer=None)
    test = detection_canvases(experiment.source, "test", args.canvases, seed=TEST_SEED)
    start = time.perf_counter()
    detections = experiment.predict(test.images, MAP_THRESHOLD)
    seconds = time.perf_counter() - start
    targets = [test.target(i) for i in range(len(test))]
    curves = metrics.precision_recall_curves(detections, targets, args.iou_threshold, len(experiment.classes))
    ap = {c: metrics.average_precision(p, r) for c, (p, r) in curves.items()}
    print(f"{MODEL} on {len(test):,} {config['dataset']} test canvases ({sum(len(b) for b in test.boxes):,} items; "
          f"detections in {seconds:.1f}s)")
    print(f"  mAP@{args.iou_threshold:g}  {np.mean(list(ap.values())):.4f}")
    for c, value in sorted(ap.items()):
        print(f"  AP {experiment.classes[c]:<12} {value:.4f}")

    shown = [{k: v[d["scores"] >= PICTURE_THRESHOLD] for k, v in d.items()} for d in detections[:16]]
    plot_detections(test.images[:16, 0], shown, experiment.classes, folder.file(PREDICTIONS), targets=targets[:16],
                    title=f"{MODEL} on test canvases: detections with confidence ≥ {PICTURE_THRESHOLD:g} "
                          "(dashed: the true boxes)")
    metrics.plot_precision_recall(curves, folder.file(PR_CURVE), class_names=experiment.classes)
    print(f"pictures: {folder.file(PREDICTIONS)}, {folder.file(PR_CURVE)}")
    return 0
