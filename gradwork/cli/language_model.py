"""``gradwork train --model char-rnn``: a character language model on a text file, trained with
truncated back-propagation through time; the held-out tail of the text measures it."""
import os

import gradwork
from gradwork import backend, models, train
from gradwork.cli.common import build_optimizer, build_schedule, default_lr
from gradwork.data.text import BUNDLED_NAME, CharVocabulary, read_text, split_tail
from gradwork.errors import ConfigError

LANGUAGE_MODEL = "char-rnn"
HELD_OUT = 0.05  # the last 5% of the text is never trained on
DEFAULTS = {"epochs": 5, "hidden": [256], "dropout": 0.0, "clip_grad_norm": 5.0, "seq_len": 64, "cell": "lstm",
            "embedding_dim": 64}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # weight matrices per recurrent layer, for the size check


def language_model_config(options):
    """The config of a char-rnn run from the settings given (a dict: ``epochs``, ``lr``, ``text``, …);
    a setting not given takes its default. Reads the text first, so a bad file fails before anything else."""
    options = {**DEFAULTS, **options}
    if len(set(options["hidden"])) != 1:
        raise ConfigError(f"char-rnn: every recurrent layer has the same size; give --hidden as 256 or 256,256, "
                          f"got {','.join(map(str, options['hidden']))}")
    text_path = os.path.abspath(options["text"]) if options.get("text") else None
    vocabulary = CharVocabulary.from_text(read_text(text_path))  # fails early on a bad file
    return {
        "model": LANGUAGE_MODEL, "dataset": "text", "text": text_path, "vocabulary": "".join(vocabulary.chars),
        "epochs": options["epochs"], "batch_size": options["batch_size"], "seq_len": options["seq_len"],
        "optimizer": options["optimizer"], "lr": options.get("lr", default_lr(options["optimizer"])),
        "schedule": options["schedule"], "weight_decay": options["weight_decay"], "dropout": options["dropout"],
        "hidden": options["hidden"], "cell": options["cell"], "embedding_dim": options["embedding_dim"],
        "clip_grad_norm": options["clip_grad_norm"], "seed": options["seed"], "held_out": HELD_OUT,
        "gradwork_version": gradwork.__version__,
    }


def build_char_rnn(config):
    """The CharRNN of ``config``, after checking that it fits in memory (``--hidden 100000000``)."""
    vocab, embed = len(config["vocabulary"]), config["embedding_dim"]
    hidden, layers = config["hidden"][0], len(config["hidden"])
    gates = GATES.get(config["cell"], 4)
    recurrent = sum(gates * ((embed if i == 0 else hidden) * hidden + hidden * hidden + 2 * hidden)
                    for i in range(layers))
    models.check_size(f"a char-rnn with hidden sizes {config['hidden']} and embedding size {embed}",
                      vocab * embed + recurrent + hidden * vocab + vocab,
                      hint="choose smaller --hidden and --embedding-dim sizes")
    return models.CharRNN(vocab, embed, hidden, num_layers=layers, cell=config["cell"], dropout=config["dropout"])


class LanguageModelExperiment:
    """The objects of one char-rnn run, rebuilt the same way for a fresh run and a resumed one."""

    def __init__(self, config):
        backend.manual_seed(config["seed"])
        self.config = config
        self.vocabulary = CharVocabulary(config["vocabulary"])
        ids = self.vocabulary.encode(read_text(config["text"]), "text file")
        self.train_ids, self.val_ids = split_tail(ids, config["held_out"])
        streams, shortest = config["batch_size"], min(len(self.train_ids), len(self.val_ids))
        if shortest <= streams:  # each of the batch's parallel streams needs at least one (input, target) pair
            raise ConfigError(f"char-rnn: the text is too short for --batch-size {streams}: its held-out tail has "
                              f"{len(self.val_ids)} characters, and each of the {streams} streams read side by side "
                              f"needs two; use a longer text or --batch-size {max(1, shortest - 1)} or less")
        self.model = build_char_rnn(config)
        self.optimizer = build_optimizer(config["optimizer"], self.model.parameters(), config["lr"],
                                         config["weight_decay"])
        self.scheduler = build_schedule(config.get("schedule", "constant"), self.optimizer, config["epochs"])

    def describe(self):
        c = self.config
        source = c["text"] or BUNDLED_NAME
        return (f"char-rnn ({c['cell']}) on {source}: {len(self.train_ids):,} training / {len(self.val_ids):,} "
                f"held-out characters, vocabulary {len(self.vocabulary)}, {self.model.num_parameters():,} "
                f"parameters, {c['optimizer']} lr={c['lr']:g}, BPTT {c['seq_len']} x batch {c['batch_size']}")

    def fit(self, callbacks, verbose, initial_epoch, history):
        c = self.config
        return train.fit_language_model(self.model, self.train_ids, val_ids=self.val_ids, optimizer=self.optimizer,
                                        epochs=c["epochs"], batch_size=c["batch_size"], seq_len=c["seq_len"],
                                        clip_grad_norm=c["clip_grad_norm"], scheduler=self.scheduler,
                                        callbacks=callbacks, verbose=verbose, initial_epoch=initial_epoch,
                                        history=history, on_divergence="stop")  # history.diverged says it

    def report(self):
        results = train.evaluate_language_model(self.model, self.val_ids, self.config["batch_size"])
        baseline = train.unigram_bpc(self.train_ids, self.val_ids, len(self.vocabulary))
        sample = self.vocabulary.decode(self.model.generate(self.train_ids[:1], 200, temperature=0.8))
        return [f"held-out text: {results['bpc']:.3f} bits per character (perplexity {results['perplexity']:.2f}); "
                f"unigram baseline {baseline:.3f} bits per character",
                "sample (temperature 0.8):", sample]
