"""``gradwork diagnose RUN``: bias or variance? And is the loss curve healthy? Said in words.

A run that has not learned (a loss that exploded or became NaN, accuracy at chance level) is said to
be unhealthy first: its bias/variance verdict would send the user after a bigger network when the
learning rate is the problem.
"""
import math

from gradwork import train
from gradwork.autograd.tensor import Tensor
from gradwork.cli.checks import PROBABILITY
from gradwork.cli.language_model import LANGUAGE_MODEL
from gradwork.cli.run_folder import RunFolder
from gradwork.cli.train import Experiment
from gradwork.errors import ConfigError
from gradwork.ops.losses import cross_entropy
from gradwork.tools.diagnose import accuracy_checks, diagnose, loss_curve_checks

FIRST_BATCH = 256


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gradwork train`")
    parser.add_argument("--human-error", type=PROBABILITY, default=None,
                        help="error of a human expert (a stand-in for the Bayes error) as a fraction, e.g. 0.01")
    parser.add_argument("--threshold", type=PROBABILITY, default=0.02,
                        help="a gap larger than this counts as high (default 0.02, two percentage points)")


def run(args):
    folder = RunFolder(args.run)
    config = folder.read_config()
    if config["model"] == LANGUAGE_MODEL:
        raise ConfigError("diagnose reads classification runs (it compares error rates); for a char-rnn run, "
                          "compare train and val bits per character in its history.json")
    folder.require_checkpoint("gradwork train")
    experiment = Experiment(config)  # rebuilt with the run's seed: the untrained model it started from
    if experiment.val_set is None:
        raise ConfigError(f"{folder.path} has no validation split: it was trained with --val-fraction 0, and "
                          "diagnose compares training and validation error; see the training error with "
                          f"gradwork evaluate {folder.path} --split train, or train a new run with --val-fraction 0.2")
    x, y = experiment.train_set.get_batch(slice(0, FIRST_BATCH))
    with experiment.model.evaluating():
        initial_loss = cross_entropy(experiment.model(Tensor(x)), y).item()
    checkpoint = folder.load_checkpoint(experiment.model, optimizer=None)
    history, note = folder.history(checkpoint)
    if note:
        print(note)
    train_accuracy = train.evaluate(experiment.model, experiment.train_set)["accuracy"]
    train_error = 1 - train_accuracy
    dev_error = 1 - train.evaluate(experiment.model, experiment.val_set)["accuracy"]
    print(f"{config['model']} on {config['dataset']} after {len(history)} epochs: training error {train_error:.2%}, "
          f"validation error {dev_error:.2%}" + (f", human error {args.human_error:.2%}"
                                                  if args.human_error is not None else ""))
    notes = loss_curve_checks(history.history.get("loss", []), initial_loss, experiment.num_classes)
    notes += accuracy_checks(train_accuracy, experiment.num_classes)
    print(f"loss before training {initial_loss:.4f} (ln {experiment.num_classes} = "
          f"{math.log(experiment.num_classes):.4f})")
    if notes:
        print("loss curve: NOT healthy — the network has not learned properly:")
        for line in notes:
            print(f"warning: {line}")
        print("fix the training first; until then the bias/variance verdict below says little:")
    else:
        print("loss curve: healthy (started near ln(C), fell, stayed finite)")
    print(diagnose(train_error, dev_error, args.human_error, args.threshold))
    return 0
