"""word2vec training speed and vector quality: gradwork's dense and sparse paths, and gensim if installed.

    python bench/word2vec.py [--epochs 4] [--paths adam sparse-adam sgd] [--no-gensim]

Corpus: gradwork's bundled Jargon File (239,412 words; vocabulary 5,492 words at min count 5).
Settings for every run: skip-gram, 5 noise words, window 5, 100 numbers per vector, subsampling 1e-4,
min count 5, seed 0. gradwork trains in batches of 1024 examples:

    adam         dense tables, optim.Adam, lr 0.003 (`gradwork word2vec --optimizer adam`)
    sparse-adam  Word2Vec(sparse=True), optim.SparseAdam, lr 0.003 (what `gradwork word2vec` does)
    sgd          Word2Vec(sparse=True), optim.SGD, lr 150 falling linearly to 1e-4 of it (word2vec's
                 schedule; `gradwork word2vec --optimizer sgd`). The lr is for the batch's *mean* loss: per
                 example that is 150/1024 ≈ 0.15

gensim (a benchmark-only tool, never a dependency of gradwork: `pip install gensim`) trains with its
defaults for the rest (lr 0.025 → 0.0001 per example, one update per example), on the same tokens cut
into sentences of 10,000 words (its limit), with 1 worker thread and with 2.

Times are of training only: the vocabulary is built before the clock starts, for both. words/s is
corpus words × epochs / training seconds (gensim's own log counts the words left after subsampling,
a smaller number). Quality: the 8 nearest neighbours of unix, game and language, and the rank of a
related word among all 5,491 neighbours of a query for 20 pairs (unix–bsd, game–zork, mail–email, …):
the median over the pairs (lower is better; 1 = the nearest).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import gradwork as gw  # noqa: E402
from gradwork import optim  # noqa: E402
from gradwork.data.text import BUNDLED_NAME, WordVocabulary, read_text, tokenize_words  # noqa: E402
from gradwork.models.word2vec import Word2Vec  # noqa: E402
from gradwork.train.word2vec import fit_word2vec  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from arguments import positive_int  # noqa: E402  (bench/arguments.py)

SETTINGS = dict(dim=100, window=5, negatives=5, subsample=1e-4, min_count=5)
SHOW = ("unix", "game", "language")
PAIRS = [("unix", "bsd"), ("unix", "linux"), ("game", "adventure"), ("game", "zork"), ("language", "programming"),
         ("language", "fortran"), ("language", "lisp"), ("mail", "email"), ("bug", "bugs"), ("hacker", "cracker"),
         ("network", "internet"), ("computer", "machine"), ("program", "code"), ("file", "directory"),
         ("disk", "drive"), ("keyboard", "key"), ("user", "users"), ("error", "errors"), ("ibm", "dec"), ("c", "pascal")]
PATHS = {  # name: (sparse tables, optimizer, lr, linear decay)
    "adam": (False, "Adam", 0.003, False),
    "sparse-adam": (True, "SparseAdam", 0.003, False),
    "sgd": (True, "SGD", 150.0, True),
}


def pair_ranks(vectors, index):
    """For each pair (a, b): b's place among a's neighbours by cosine similarity (1 = the nearest)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    ranks = []
    for a, b in PAIRS:
        similarity = unit @ unit[index[a]]
        similarity[index[a]] = -np.inf
        ranks.append(int((similarity > similarity[index[b]]).sum()) + 1)
    return ranks


def report(name, seconds, words, epochs, vectors, index, neighbours, loss=None):
    ranks = pair_ranks(vectors, index)
    loss_text = f", final loss {loss:.3f}" if loss is not None else ""
    print(f"{name:<24} {seconds:6.1f} s  {words * epochs / seconds:>9,.0f} words/s{loss_text}; "
          f"median pair rank {statistics.median(ranks):g}")
    for word in SHOW:
        print(f"    {word}: {', '.join(neighbours(word))}")
    return seconds


def run_gradwork(path, tokens, vocabulary, epochs, seed):
    sparse, optimizer_name, lr, linear_decay = PATHS[path]
    ids = vocabulary.encode(tokens)
    gw.manual_seed(seed)
    model = Word2Vec(vocabulary.words, SETTINGS["dim"], "skipgram", sparse=sparse)
    optimizer = getattr(optim, optimizer_name)(model.parameters(), lr=lr)
    start = time.perf_counter()
    history = fit_word2vec(model, ids, vocabulary.counts, optimizer=optimizer, epochs=epochs,
                           window=SETTINGS["window"], negatives=SETTINGS["negatives"], batch_size=1024,
                           subsample=SETTINGS["subsample"], linear_decay=linear_decay, verbose=0)
    seconds = time.perf_counter() - start
    return report(f"gradwork {path}", seconds, len(tokens), epochs, model.vectors(normalized=False), model.index,
                  lambda w: [x for x, _ in model.most_similar(w, 8)], history.history["loss"][-1])


def run_gensim(gensim_word2vec, tokens, epochs, seed, workers):
    sentences = [tokens[i:i + 10_000] for i in range(0, len(tokens), 10_000)]
    model = gensim_word2vec(vector_size=SETTINGS["dim"], window=SETTINGS["window"], negative=SETTINGS["negatives"],
                            sample=SETTINGS["subsample"], min_count=SETTINGS["min_count"], sg=1, seed=seed,
                            workers=workers)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - start
    wv = model.wv
    return report(f"gensim, {workers} worker{'s' if workers > 1 else ''}", seconds, len(tokens), epochs, wv.vectors,
                  wv.key_to_index, lambda w: [x for x, _ in wv.most_similar(w, topn=8)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=positive_int, default=4)
    parser.add_argument("--paths", nargs="*", default=list(PATHS), choices=list(PATHS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-gensim", action="store_true", help="skip gensim even if it is installed")
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()  # as the gradwork command does
    tokens = tokenize_words(read_text())
    vocabulary = WordVocabulary.from_tokens(tokens, SETTINGS["min_count"])
    print(f"{BUNDLED_NAME}: {len(tokens):,} words, vocabulary {len(vocabulary):,}; skip-gram, dim {SETTINGS['dim']}, "
          f"window {SETTINGS['window']}, {SETTINGS['negatives']} noise words, subsample {SETTINGS['subsample']}, "
          f"{args.epochs} epochs; NumPy {np.__version__}, {os.cpu_count()} cores\n")
    times = {path: run_gradwork(path, tokens, vocabulary, args.epochs, args.seed) for path in args.paths}
    gensim_seconds = None
    if not args.no_gensim:
        try:
            import gensim
            from gensim.models import Word2Vec as GensimWord2Vec
        except ImportError:
            print("gensim is not installed (pip install gensim): gradwork numbers only")
        else:
            print(f"gensim {gensim.__version__}")
            gensim_seconds = min(run_gensim(GensimWord2Vec, tokens, args.epochs, args.seed, workers)
                                 for workers in (1, 2))
    if gensim_seconds:
        ratios = ", ".join(f"{path} {seconds / gensim_seconds:.1f}×" for path, seconds in times.items())
        print(f"\ngradwork's time / gensim's (its faster run): {ratios}  (target: within 8×)")


if __name__ == "__main__":
    main()
