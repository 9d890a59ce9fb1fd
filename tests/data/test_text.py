"""Text corpora: reading (and refusing bad files), vocabularies, word2vec example generation."""
import gzip

import numpy as np
import pytest

from gradwork.data import text
from gradwork.errors import ConfigError, DataFileError


def test_the_bundled_corpus_is_over_a_megabyte_of_english():
    corpus = text.read_text()
    assert len(corpus.encode("utf-8")) > 1_000_000
    assert "hacker" in corpus and "The Jargon File" in corpus[:200]


def test_gzipped_and_plain_files_read_the_same(tmp_path):
    (tmp_path / "a.txt").write_text("héllo wörld", encoding="utf-8")
    with gzip.open(tmp_path / "a.txt.gz", "wt", encoding="utf-8") as f:
        f.write("héllo wörld")
    assert text.read_text(tmp_path / "a.txt") == text.read_text(str(tmp_path / "a.txt.gz")) == "héllo wörld"


def test_missing_empty_and_non_utf8_files_are_refused_clearly(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        text.read_text(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(DataFileError, match="empty"):
        text.read_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(DataFileError, match="not UTF-8: byte 3 is 0xe9"):
        text.read_text(tmp_path / "latin1.txt")


def test_char_vocabulary_round_trips_and_names_unknown_characters():
    vocab = text.CharVocabulary.from_text("abcab")
    assert vocab.decode(vocab.encode("cab")) == "cab"
    with pytest.raises(ConfigError, match="'z'"):
        vocab.encode("abz", "prime string")


def test_word_vocabulary_orders_by_frequency_and_drops_rare_words():
    tokens = text.tokenize_words("The cat; the DOG. The cat don't 42")
    assert tokens == ["the", "cat", "the", "dog", "the", "cat", "don't"]
    vocab = text.WordVocabulary.from_tokens(tokens, min_count=2)
    assert vocab.words == ["the", "cat"] and list(vocab.counts) == [3, 2]
    np.testing.assert_array_equal(vocab.encode(tokens), [0, 1, 0, 0, 1])


def test_skipgram_pairs_stay_within_the_window():
    rng = np.random.default_rng(0)
    ids = np.arange(50)
    centers, contexts = text.skipgram_pairs(ids, 3, rng)
    gaps = np.abs(centers - contexts)
    assert gaps.min() == 1 and gaps.max() == 3 and len(centers) > 100


def test_cbow_windows_pad_with_minus_one():
    contexts, centers = text.cbow_windows(np.arange(10), 2, np.random.default_rng(0))
    assert contexts.shape == (10, 4) and list(centers) == list(range(10))
    assert contexts[0, 0] == -1 and contexts[0, 1] == -1  # nothing left of the first word
    assert contexts[5, 2] == 6


def test_subsampling_drops_frequent_words_more_often():
    rng = np.random.default_rng(0)
    ids = np.array([0] * 9000 + [1] * 1000)
    kept = text.subsample_frequent(ids, np.array([9000, 1000]), 1e-2, rng)
    assert (kept == 0).mean() < 0.8 and (kept == 1).sum() > 400


class FixedDraws:
    """A generator whose random() returns given numbers (shaped as asked)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=np.float64)

    def random(self, shape):
        return self.u.reshape(shape)


@pytest.mark.parametrize("counts", [[100, 1], [5, 0, 3, 0, 0, 7, 1], list(range(1, 400)), [1]])
def test_negative_sampler_inverts_the_distribution_exactly_as_a_binary_search(counts):
    """The guide table gives, for every u, the word searchsorted(cdf, u) gives: u drawn at random, on each
    cdf value and just beside it, on each bucket edge, 0 and the largest float below 1."""
    sampler = text.NegativeSampler(counts)
    cdf, buckets = sampler.cdf, len(sampler.guide)
    edges = np.arange(buckets) / buckets
    u = np.concatenate([np.random.default_rng(1).random(20_000), cdf, np.nextafter(cdf, 0), np.nextafter(cdf, 1),
                        edges, np.nextafter(edges, 0)[1:], [0.0, np.nextafter(1.0, 0)]])
    u = u[(u >= 0) & (u < 1)]
    expected = np.minimum(np.searchsorted(cdf, u), len(cdf) - 1)
    np.testing.assert_array_equal(sampler.sample(len(u), FixedDraws(u)), expected)
    never = np.flatnonzero(np.asarray(counts) == 0)
    assert not np.isin(sampler.sample(len(u), FixedDraws(u)), never).any()  # a word never seen is never drawn
    assert sampler.sample((), FixedDraws(0.5)) == min(np.searchsorted(cdf, 0.5), len(cdf) - 1)  # one draw


def test_negative_sampler_follows_the_three_quarter_power():
    sampler = text.NegativeSampler([100, 1])
    draws = sampler.sample(100_000, np.random.default_rng(0))
    assert (draws == 1).mean() == pytest.approx(1 / (1 + 100 ** 0.75), abs=0.005)
