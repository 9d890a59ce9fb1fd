"""``gradwork word2vec``: learn word vectors from a text, save them and show nearest neighbours."""
import datetime
import os
import sys

import gradwork
from gradwork import backend, io, optim
from gradwork.cli.checks import FRACTION, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from gradwork.data.text import BUNDLED_NAME, WordVocabulary, read_text, tokenize_words
from gradwork.errors import ConfigError, TrainingDivergedError
from gradwork.models.word2vec import MODES, Word2Vec
from gradwork.train.word2vec import fit_word2vec

TSNE_WORDS = 300
OPTIMIZERS = ("sparse-adam", "adam", "sgd")
DEFAULT_LR = {"sparse-adam": 0.003, "adam": 0.003, "sgd": 150.0}
FUNCTION_WORDS = set("""about above after again also although among another because been before being below between
both could does doing down during each either else even ever every from further have having here however into itself
just less many more most much must neither never none often once only other others over same several should since
some such than that their theirs them then there these they this those though through thus together under until upon
very were what when where whether which while whom whose will with within without would your yours also used usually
something someone anything things thing like""".split())


def add_arguments(parser):
    parser.add_argument("--text", default=None, metavar="FILE",
                        help="UTF-8 text file (default: the bundled Jargon File)")
    parser.add_argument("--dim", type=POSITIVE_INT, default=100, help="numbers per word vector (default 100)")
    parser.add_argument("--window", type=POSITIVE_INT, default=5, help="context words on each side, at most (default 5)")
    parser.add_argument("--mode", default="skipgram", choices=MODES, help="skipgram or cbow (default skipgram)")
    parser.add_argument("--negatives", type=POSITIVE_INT, default=5, help="noise words per example (default 5)")
    parser.add_argument("--min-count", type=POSITIVE_INT, default=5, help="ignore rarer words (default 5)")
    parser.add_argument("--subsample", type=FRACTION, default=1e-4,
                        help="frequent-word subsampling threshold t; 0 keeps all (default 1e-4)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=5, help="passes over the text (default 5)")
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=1024, help="examples per step (default 1024)")
    parser.add_argument("--optimizer", default="sparse-adam", choices=OPTIMIZERS,
                        help="sparse-adam: only the rows a batch uses are updated (SparseAdam, the default); "
                             "sgd: sparse too, with word2vec's linearly falling rate; adam: dense Adam on whole tables")
    parser.add_argument("--lr", type=POSITIVE, default=None,
                        help="learning rate of the batch's mean loss (default 0.003; 150 for sgd, which falls "
                             "linearly to 1e-4 of it)")
    parser.add_argument("--show", default=None,
                        help="comma-separated words whose neighbours to print (default: frequent words)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="random seed (default 0)")
    parser.add_argument("--out", default=None, help="folder to write (default runs/word2vec-<time>)")
    parser.add_argument("--verbose", type=NON_NEGATIVE_INT, default=1, choices=(0, 1, 2), help="0 quiet, 1 progress bars, 2 lines")


def _words_to_show(args, vocabulary):
    if args.show:
        words = [w.strip().lower() for w in args.show.split(",") if w.strip()]
        missing = [w for w in words if w not in vocabulary]
        if missing:
            raise ConfigError(f"--show: {', '.join(missing)} not in the vocabulary (too rare, or never seen)")
        return words
    # frequent content words: skip the function words that top every English frequency list
    return [w for w in vocabulary.words if len(w) >= 4 and w not in FUNCTION_WORDS][:8]


def run(args):
    backend.manual_seed(args.seed)
    tokens = tokenize_words(read_text(args.text))
    vocabulary = WordVocabulary.from_tokens(tokens, args.min_count)
    ids = vocabulary.encode(tokens)
    show = _words_to_show(args, vocabulary)
    folder = args.out or os.path.join("runs", f"word2vec-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    if os.path.isdir(folder) and os.listdir(folder):
        raise ConfigError(f"{folder} already exists and is not empty; choose another --out")
    print(f"word2vec ({args.mode}) on {args.text or BUNDLED_NAME}: {len(tokens):,} words, vocabulary "
          f"{len(vocabulary):,} (min count {args.min_count}), dim {args.dim}, window {args.window}", file=sys.stderr)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    model = Word2Vec(vocabulary.words, args.dim, args.mode, sparse=args.optimizer != "adam")
    if args.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=lr)
    elif args.optimizer == "sparse-adam":
        optimizer = optim.SparseAdam(model.parameters(), lr=lr)
    else:
        optimizer = optim.SGD(model.parameters(), lr=lr)
    history = fit_word2vec(model, ids, vocabulary.counts, optimizer=optimizer, epochs=args.epochs,
                           window=args.window, negatives=args.negatives, batch_size=args.batch_size,
                           subsample=args.subsample, verbose=args.verbose, on_divergence="stop",
                           linear_decay=args.optimizer == "sgd")
    if history.diverged:  # NaN vectors are worth nothing: say why, and write no folder
        raise TrainingDivergedError(history.stop_reason)
    io.save_word_vectors(model, folder, vocabulary.counts)
    history.save(os.path.join(folder, "history.json"))
    gradwork._files.write_json(os.path.join(folder, "config.json"), {
        "text": os.path.abspath(args.text) if args.text else None, "dim": args.dim, "window": args.window,
        "mode": args.mode, "negatives": args.negatives, "min_count": args.min_count, "subsample": args.subsample,
        "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": lr, "seed": args.seed,
        "gradwork_version": gradwork.__version__})
    count = min(TSNE_WORDS, len(vocabulary))
    if count > 30:
        from gradwork.tools.viz import plot_tsne  # scikit-learn and matplotlib: imported only when needed
        plot_tsne(model.vectors()[:count], os.path.join(folder, "tsne.png"), words=vocabulary.words[:count],
                  perplexity=min(30.0, count / 4), title=f"t-SNE of the {count} most frequent words")
    for word in show:
        neighbours = ", ".join(f"{w} ({s:.2f})" for w, s in model.most_similar(word, 8))
        print(f"{word}: {neighbours}")
    print(f"vectors: {folder}")
    return 0
