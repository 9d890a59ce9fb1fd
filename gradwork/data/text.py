"""Text for language models: reading a corpus, character and word vocabularies, and the batches of
truncated back-propagation through time.

The default corpus ships inside the package (``gradwork/data/corpus/jargon.txt.gz``, The Jargon File
4.4.7, public domain; see SOURCE.md there), so text models train on a fresh machine without a network.
"""
import collections
import gzip
import os
import re

from gradwork.backend import xp
from gradwork.errors import ConfigError, DataFileError

BUNDLED_CORPUS = os.path.join(os.path.dirname(__file__), "corpus", "jargon.txt.gz")
BUNDLED_NAME = "The Jargon File 4.4.7 (bundled)"


def read_text(path=None):
    """The text of a UTF-8 file (``.gz`` is decompressed); ``None`` reads the bundled corpus.

    Raises ``DataFileError`` naming the file when it is missing, empty or not UTF-8.
    """
    path = BUNDLED_CORPUS if path is None else os.fspath(path)
    if not os.path.isfile(path):
        raise DataFileError(f"text file {path!r} does not exist (or is not a file); give the path of a UTF-8 text "
                            f"file, or leave the option out to use the bundled corpus")
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DataFileError(f"cannot read text file {path!r}: {error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(f"text file {path!r} is not UTF-8: byte {error.start} is {raw[error.start]:#04x}; "
                            f"convert it first, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8") from None
    if not text.strip():
        raise DataFileError(f"text file {path!r} is empty: a language model needs text to learn from")
    return text


class CharVocabulary:
    """The characters of a text, each with an integer id (sorted, so the same text gives the same ids)."""

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("CharVocabulary: characters must be unique")
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def encode(self, text, what="text"):
        """str → int64 array of ids; unknown characters are an error that lists them."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise ConfigError(f"the {what} has {len(unknown)} character(s) the model never saw in training: {shown}; "
                              f"use only characters of its vocabulary of {len(self)}")
        return xp.fromiter((self.index[c] for c in text), dtype=xp.int64, count=len(text))

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)


def split_tail(ids, fraction):
    """(head, tail): the last ``fraction`` of a sequence is held out (text is not shuffled: the
    held-out part must be text the model has not read)."""
    if not 0 < fraction < 1:
        raise ValueError(f"split_tail: fraction must be in (0, 1), got {fraction}")
    cut = int(len(ids) * (1 - fraction))
    return ids[:cut], ids[cut:]


class SequenceBatches:
    """Batches for truncated back-propagation through time over one long sequence of ids.

    The sequence is cut into ``batch_size`` streams laid side by side (row b is the b-th stretch of
    the text); batch k is columns [k·seq_len, (k+1)·seq_len) of every row. The hidden state left by
    batch k is therefore the right one to start batch k + 1 with, row by row. Each batch is
    (x, y), both (batch_size, seq_len), with y the next character of x.
    """

    def __init__(self, ids, batch_size, seq_len):
        ids = xp.asarray(ids)
        if batch_size <= 0 or seq_len <= 0:
            raise ValueError(f"SequenceBatches: batch_size and seq_len must be positive, got {batch_size}, {seq_len}")
        per_row = (len(ids) - 1) // batch_size
        if per_row < 1:
            raise ValueError(f"SequenceBatches: {len(ids)} ids are too few for {batch_size} streams; use a longer "
                             f"text or a smaller batch size")
        self.inputs = ids[: per_row * batch_size].reshape(batch_size, per_row)
        self.targets = ids[1: per_row * batch_size + 1].reshape(batch_size, per_row)
        self.batch_size, self.seq_len = batch_size, seq_len

    def __len__(self):
        return -(-self.inputs.shape[1] // self.seq_len)

    def __iter__(self):
        for start in range(0, self.inputs.shape[1], self.seq_len):
            stop = start + self.seq_len
            yield self.inputs[:, start:stop], self.targets[:, start:stop]


WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokenize_words(text):
    """Lower-cased words (letters, with an inner apostrophe: "don't"); numbers and punctuation dropped."""
    return WORD.findall(text.lower())


class WordVocabulary:
    """Words seen at least ``min_count`` times, most frequent first, with their counts."""

    def __init__(self, words, counts):
        self.words, self.counts = list(words), xp.asarray(counts, dtype=xp.int64)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_tokens(cls, tokens, min_count=5):
        counter = collections.Counter(tokens)
        kept = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        if not kept:
            raise DataFileError(f"no word occurs {min_count} times or more: lower min_count or use a longer text")
        return cls([w for w, _ in kept], [c for _, c in kept])

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def id(self, word):
        if word not in self.index:
            raise KeyError(f"{word!r} is not in the vocabulary of {len(self)} words (too rare, or never seen)")
        return self.index[word]

    def encode(self, tokens):
        """Ids of the tokens in the vocabulary; rarer words are dropped, as word2vec does."""
        return xp.array([self.index[t] for t in tokens if t in self.index], dtype=xp.int64)


def subsample_frequent(ids, counts, threshold, rng):
    """Drop occurrences of frequent words at random (Mikolov et al.): a word of corpus frequency f is
    kept with probability min(1, √(t/f) + t/f), so "the" and "of" stop crowding every window while
    rare words are all kept. ``threshold`` t ≈ 1e-3 … 1e-5; 0 keeps everything."""
    if not threshold:
        return ids
    f = counts / counts.sum()
    keep = xp.minimum(1.0, xp.sqrt(threshold / f) + threshold / f)
    return ids[rng.random(len(ids)) < keep[ids]]


def skipgram_pairs(ids, window, rng):
    """(center, context) id pairs: every word with each neighbour up to b positions away, where b is
    drawn uniformly from 1..window per center word (nearer words are thus sampled more often, as in
    word2vec). Vectorised per offset: no loop over the corpus."""
    reach = rng.integers(1, window + 1, len(ids))
    centers, contexts = [], []
    for offset in range(1, window + 1):
        right = reach[:-offset] >= offset   # the neighbour `offset` to the right of each center
        centers.append(ids[:-offset][right])
        contexts.append(ids[offset:][right])
        left = reach[offset:] >= offset     # the neighbour `offset` to the left
        centers.append(ids[offset:][left])
        contexts.append(ids[:-offset][left])
    return xp.concatenate(centers), xp.concatenate(contexts)


def cbow_windows(ids, window, rng):
    """(contexts (N, 2·window), centers (N,)) for continuous bag of words: each row holds the ids of
    the words around one center, up to b positions each side (b drawn from 1..window), −1 elsewhere."""
    n = len(ids)
    reach = rng.integers(1, window + 1, n)
    contexts = xp.full((n, 2 * window), -1, dtype=xp.int64)
    for k, offset in enumerate(list(range(-window, 0)) + list(range(1, window + 1))):
        positions = xp.arange(n) + offset
        valid = (positions >= 0) & (positions < n) & (reach >= abs(offset))
        contexts[valid, k] = ids[positions[valid]]
    has_context = (contexts >= 0).any(axis=1)
    return contexts[has_context], ids[has_context]


class NegativeSampler:
    """Draws "noise" words from the unigram distribution raised to 3/4 (word2vec's choice: rare words
    a little more often than their frequency), by inverting the cumulative distribution: for a uniform
    u, the first word i whose cumulative probability cdf[i] reaches u.

    The inversion starts from a guide table (Chen and Asau's "indexed search"): ``guide[b]`` is the first
    word whose cdf reaches b/B, so a u in [b/B, (b+1)/B) is answered by ``guide[b]`` or a word shortly
    after it, found by stepping on while cdf < u. With B = 4·V buckets a step or two suffice, where a
    binary search over all V words (``searchsorted``) misses the cache at every level: 5,120 draws from
    the Jargon File's 5,492 words 364 → 41 µs (best of 5 × 300; bench/RESULTS.md, 2026-11-30, session 9),
    the same words for the same u (``tests/data/test_text.py``)."""

    def __init__(self, counts, power=0.75):
        p = xp.asarray(counts, dtype=xp.float64) ** power
        self.cdf = xp.cumsum(p / p.sum())
        buckets = 4 * len(self.cdf)
        self.guide = xp.searchsorted(self.cdf, xp.arange(buckets) / buckets)  # first word with cdf ≥ b/B
        self.cdf_then_stop = xp.append(self.cdf, xp.inf)  # a u above cdf[−1] (rounding) stops past the end

    def sample(self, shape, rng):
        u = xp.asarray(rng.random(shape))
        words = self.guide[(u * len(self.guide)).astype(xp.int64)]
        while True:  # step on to the first word whose cdf reaches u: what searchsorted(cdf, u) returns
            short = self.cdf_then_stop[words] < u
            if not short.any():
                break
            words += short
        return xp.minimum(words, len(self.cdf) - 1)
