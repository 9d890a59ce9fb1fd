"""``gradwork generate RUN``: sample text from a trained character language model."""
import os

from gradwork import backend
from gradwork.cli.checks import NON_NEGATIVE_INT, POSITIVE
from gradwork.cli.language_model import LANGUAGE_MODEL, build_char_rnn
from gradwork.cli.run_folder import RunFolder
from gradwork.data.text import CharVocabulary
from gradwork.errors import ConfigError


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gradwork train --model char-rnn`")
    parser.add_argument("--prime", default="The ", help="text to start from (default 'The ')")
    parser.add_argument("--length", type=NON_NEGATIVE_INT, default=500, help="characters to generate (default 500)")
    parser.add_argument("--temperature", type=POSITIVE, default=0.8,
                        help="below 1: safer, more repetitive; above 1: more surprising (default 0.8)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=None, help="random seed for the sampling (default: random)")


def run(args):
    folder = RunFolder(args.run)
    config = folder.read_config()
    if config["model"] != LANGUAGE_MODEL:
        raise ConfigError(f"{folder.path} holds a {config['model']!r} model; generate needs a run of "
                          f"`gradwork train --model {LANGUAGE_MODEL}`")
    folder.require_checkpoint("gradwork train")
    if not args.prime:
        raise ConfigError("--prime must have at least one character to start from")
    vocabulary = CharVocabulary(config["vocabulary"])
    prime = vocabulary.encode(args.prime, "prime string")
    model = build_char_rnn(config)
    folder.load_checkpoint(model, optimizer=None)
    backend.manual_seed(args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little"))
    print(args.prime + vocabulary.decode(model.generate(prime, args.length, args.temperature)))
    return 0
