"""``gradwork diagnose RUN``: bias or variance? And is the loss curve healthy? Said in words."""
import math

from gradwork import train
from gradwork.autograd.grad_mode import no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.cli.language_model import LANGUAGE_MODEL
from gradwork.cli.run_folder import RunFolder
from gradwork.cli.train import Experiment
from gradwork.errors import ConfigError
from gradwork.ops.losses import cross_entropy
from gradwork.tools.diagnose import diagnose, loss_curve_checks

FIRST_BATCH = 256


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gradwork train`")
    parser.add_argument("--human-error", type=float, default=None,
                        help="error of a human expert (a stand-in for the Bayes error) as a fraction, e.g. 0.01")
    parser.add_argument("--threshold", type=float, default=0.02,
                        help="a gap larger than this counts as high (default 0.02, two percentage points)")


def run(args):
    folder = RunFolder(args.run)
    config = folder.read_config()
    if config.get("model") == LANGUAGE_MODEL:
        raise ConfigError("diagnose reads classification runs (it compares error rates); for a char-rnn run, "
                          "compare train and val bits per character in its history.json")
    if not folder.has_checkpoint():
        raise ConfigError(f"{folder.path} has no model.safetensors: the run never finished an epoch")
    experiment = Experiment(config)  # rebuilt with the run's seed: the untrained model it started from
    x, y = experiment.train_set.get_batch(slice(0, FIRST_BATCH))
    with no_grad():
        experiment.model.eval()
        initial_loss = cross_entropy(experiment.model(Tensor(x)), y).item()
    folder.load_checkpoint(experiment.model, optimizer=None)
    train_error = 1 - train.evaluate(experiment.model, experiment.train_set)["accuracy"]
    dev_error = 1 - train.evaluate(experiment.model, experiment.val_set)["accuracy"]
    history = folder.read_history()
    print(f"{config['model']} on {config['dataset']} after {len(history)} epochs: training error {train_error:.2%}, "
          f"validation error {dev_error:.2%}" + (f", human error {args.human_error:.2%}"
                                                  if args.human_error is not None else ""))
    print(diagnose(train_error, dev_error, args.human_error, args.threshold))
    notes = loss_curve_checks(history.history.get("loss", []), initial_loss, experiment.num_classes)
    print(f"loss before training {initial_loss:.4f} (ln {experiment.num_classes} = "
          f"{math.log(experiment.num_classes):.4f})")
    for note in notes:
        print(f"warning: {note}")
    if not notes:
        print("loss curve: healthy (started near ln(C), fell, stayed finite)")
    return 0
