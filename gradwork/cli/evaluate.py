"""``gradwork evaluate RUN``: test accuracy, loss and confusion matrix of a trained run."""
from gradwork import train
from gradwork.cli.language_model import LANGUAGE_MODEL, LanguageModelExperiment
from gradwork.cli.run_folder import RunFolder
from gradwork.cli.train import Experiment


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gradwork train`")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="which split (default test)")


def run(args):
    folder = RunFolder(args.run)
    config = folder.read_config()
    folder.require_checkpoint("gradwork train")
    if config.get("model") == LANGUAGE_MODEL:
        experiment = LanguageModelExperiment(config)
        folder.load_checkpoint(experiment.model, optimizer=None)
        ids = {"train": experiment.train_ids, "val": experiment.val_ids, "test": experiment.val_ids}[args.split]
        results = train.evaluate_language_model(experiment.model, ids, config["batch_size"])
        print(f"char-rnn ({args.split if args.split == 'train' else 'held-out tail'}, {len(ids):,} characters)")
        for key, value in results.items():
            print(f"  {key:<14} {value:.4f}")
        return 0
    experiment = Experiment(config)
    dataset = experiment.split(args.split)  # before loading: a run without a validation split says so at once
    folder.load_checkpoint(experiment.model, optimizer=None)
    results = train.evaluate(experiment.model, dataset, loss="cross_entropy", metrics=("accuracy", "top3_accuracy"))
    outputs = train.predict(experiment.model, dataset.get_batch(slice(None))[0])
    matrix = train.confusion_matrix(dataset.get_batch(slice(None))[1], outputs, experiment.num_classes)
    print(f"{config['model']} on {config['dataset']} ({args.split}, {len(dataset)} examples)")
    for key, value in results.items():
        print(f"  {key:<14} {value:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    width = max(4, len(str(matrix.max())) + 1)
    print(" " * 4 + "".join(f"{j:>{width}}" for j in range(len(matrix))))
    for i, row in enumerate(matrix):
        print(f"{i:>3} " + "".join(f"{v:>{width}}" for v in row))
    return 0
