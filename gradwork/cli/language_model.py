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
DEFAULT_CLIP = 5.0


def language_model_config(args, hidden):
    if len(set(hidden)) != 1:
        raise ConfigError(f"char-rnn: every recurrent layer has the same size; give --hidden as 256 or 256,256, "
                          f"got {args.hidden!r}")
    if args.seq_len <= 0 or args.embedding_dim <= 0:
        raise ConfigError(f"--seq-len and --embedding-dim must be positive, got {args.seq_len} and "
                          f"{args.embedding_dim}")
    if args.cell not in models.char_rnn.CELLS:
        raise ConfigError(f"--cell must be one of {', '.join(models.char_rnn.CELLS)}, got {args.cell!r}")
    text_path = os.path.abspath(args.text) if args.text else None
    vocabulary = CharVocabulary.from_text(read_text(text_path))  # fails early on a bad file
    return {
        "model": LANGUAGE_MODEL, "dataset": "text", "text": text_path, "vocabulary": "".join(vocabulary.chars),
        "epochs": args.epochs, "batch_size": args.batch_size, "seq_len": args.seq_len,
        "optimizer": args.optimizer, "lr": args.lr if args.lr is not None else default_lr(args.optimizer),
        "schedule": args.schedule, "weight_decay": args.weight_decay, "dropout": args.dropout,
        "hidden": hidden, "cell": args.cell, "embedding_dim": args.embedding_dim,
        "clip_grad_norm": args.clip_grad_norm if args.clip_grad_norm is not None else DEFAULT_CLIP,
        "seed": args.seed, "held_out": HELD_OUT, "gradwork_version": gradwork.__version__,
    }


def build_char_rnn(config):
    return models.CharRNN(len(config["vocabulary"]), config["embedding_dim"], config["hidden"][0],
                          num_layers=len(config["hidden"]), cell=config["cell"], dropout=config["dropout"])


class LanguageModelExperiment:
    """The objects of one char-rnn run, rebuilt the same way for a fresh run and a resumed one."""

    def __init__(self, config):
        backend.manual_seed(config["seed"])
        self.config = config
        self.vocabulary = CharVocabulary(config["vocabulary"])
        ids = self.vocabulary.encode(read_text(config["text"]), "text file")
        self.train_ids, self.val_ids = split_tail(ids, config["held_out"])
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
                                        history=history)

    def report(self):
        results = train.evaluate_language_model(self.model, self.val_ids, self.config["batch_size"])
        baseline = train.unigram_bpc(self.train_ids, self.val_ids, len(self.vocabulary))
        sample = self.vocabulary.decode(self.model.generate(self.train_ids[:1], 200, temperature=0.8))
        return [f"held-out text: {results['bpc']:.3f} bits per character (perplexity {results['perplexity']:.2f}); "
                f"unigram baseline {baseline:.3f} bits per character",
                "sample (temperature 0.8):", sample]
