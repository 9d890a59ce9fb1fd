"""``Word2Vec``: word embeddings learned by predicting context, with negative sampling.

Skip-gram predicts each context word from the center word; CBOW (continuous bag of words)
predicts the center word from the mean of its context. Both score a (input vector h, output
word o) pair by the dot product h·u_o and learn, with k noise words n₁…n_k drawn from the unigram
distribution^¾, to tell the true pair from the noise:

    loss = −log σ(h·u_o) − Σᵢ log σ(−h·u_nᵢ)

Two tables: ``in_embed`` (the word vectors one keeps, v) and ``out_embed`` (u, used only in training).
A batch of B examples uses a few thousand of their rows; with ``sparse=True`` their gradients hold only
those rows (train with ``optim.SparseAdam``, or ``optim.SGD`` as the original word2vec does).
"""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import ConfigError
from gradwork.nn import init
from gradwork.nn.embedding import Embedding
from gradwork.nn.module import Module
from gradwork.ops.arithmetic import matmul
from gradwork.ops.losses import binary_cross_entropy_with_logits

MODES = ("skipgram", "cbow")


class Word2Vec(Module):
    """Word vectors for ``words`` (a list, most frequent first), ``dim`` numbers each.

    ``forward(inputs, targets, negatives)`` → mean negative-sampling loss over the batch, where for
    skip-gram ``inputs`` are center ids (B,), for CBOW context ids (B, 2w) with −1 as padding;
    ``targets`` (B,) are the words to predict and ``negatives`` (B, k) the noise words.
    Init as word2vec's C code: v ~ U(−0.5/dim, 0.5/dim), u = 0. ``sparse=True`` makes both tables'
    gradients sparse (``Embedding(sparse=True)``): only the rows a batch used.
    """

    def __init__(self, words, dim=100, mode="skipgram", sparse=False):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"Word2Vec: mode must be 'skipgram' or 'cbow', got {mode!r}")
        self.words, self.mode = list(words), mode
        self.index = {w: i for i, w in enumerate(self.words)}
        self.in_embed = Embedding(len(self.words), dim, sparse=sparse)
        self.out_embed = Embedding(len(self.words), dim, sparse=sparse)
        init.uniform_(self.in_embed.weight, -0.5 / dim, 0.5 / dim)
        init.zeros_(self.out_embed.weight)

    def _input_vectors(self, inputs):
        if self.mode == "skipgram":
            return self.in_embed(inputs)                                  # (B, D)
        inputs = xp.asarray(getattr(inputs, "data", inputs))
        present = (inputs >= 0).astype(self.in_embed.weight.dtype)       # (B, 2w): 1 for real context words
        vectors = self.in_embed(xp.maximum(inputs, 0)) * Tensor(present[..., None])
        return vectors.sum(axis=1) * Tensor(1 / xp.maximum(present.sum(axis=1, keepdims=True), 1))

    def forward(self, inputs, targets, negatives):
        h = self._input_vectors(inputs)                                   # (B, D)
        targets, negatives = (xp.asarray(getattr(a, "data", a)) for a in (targets, negatives))
        # The true word and its k noise words in one lookup (B, 1+k): one gradient for out_embed, not two.
        words = xp.concatenate((targets[:, None], negatives), axis=1)
        scores = matmul(self.out_embed(words), h.unsqueeze(-1)).squeeze(-1)  # (B, 1+k): h·u_o, then h·u_n
        labels = xp.zeros(scores.shape, scores.dtype)
        labels[:, 0] = 1                                                  # the true word is the positive
        loss = binary_cross_entropy_with_logits(scores, labels, reduction="sum")
        return loss * (1.0 / scores.shape[0])

    def vectors(self, normalized=True):
        """The word vectors (V, dim) as an array; unit length when ``normalized`` (for cosine similarity)."""
        v = self.in_embed.weight.data
        return v / xp.maximum(xp.linalg.norm(v, axis=1, keepdims=True), 1e-12) if normalized else v.copy()

    def _id(self, word):
        if word not in self.index:
            raise KeyError(f"{word!r} is not in the vocabulary of {len(self.words)} words (too rare, or never seen)")
        return self.index[word]

    def vector(self, word):
        return self.in_embed.weight.data[self._id(word)]

    def _nearest(self, query, k, exclude):
        similarity = self.vectors() @ (query / max(float(xp.linalg.norm(query)), 1e-12))
        similarity[[self.index[w] for w in exclude]] = -xp.inf
        best = xp.argsort(-similarity)[:k]
        return [(self.words[i], float(similarity[i])) for i in best]

    def most_similar(self, word, k=10):
        """The k words whose vectors have the largest cosine similarity to ``word``'s: [(word, cos), …]."""
        return self._nearest(self.vector(word), k, [word])

    def analogy(self, a, b, c, k=1):
        """``a`` is to ``b`` as ``c`` is to what? The k words nearest to b − a + c, the inputs excluded.

        ``analogy("man", "king", "woman")`` looks near king − man + woman and should find "queen". The
        order is that of a line ``a b c d`` of the Google analogy test set ("Athens Greece Baghdad Iraq":
        ``analogy("Athens", "Greece", "Baghdad")`` → "Iraq") and of gensim's
        ``most_similar(positive=[b, c], negative=[a])``. Each vector is first scaled to unit length, so
        frequent words with long vectors do not outweigh the others. Returns [(word, cosine), …].
        """
        ia, ib, ic = (self._id(w) for w in (a, b, c))
        unit = self.vectors()
        query = unit[ib] - unit[ia] + unit[ic]
        return self._nearest(query, k, [a, b, c])

    def similarity(self, a, b):
        """Cosine similarity of two words' vectors."""
        va, vb = self.vector(a), self.vector(b)  # two rows only: no need to normalise the whole table
        return float(va @ vb / max(float(xp.linalg.norm(va) * xp.linalg.norm(vb)), 1e-12))

    def extra_repr(self):
        sparse = ", sparse=True" if self.in_embed.sparse else ""
        return f"{len(self.words)} words, dim={self.in_embed.embedding_dim}, mode={self.mode!r}{sparse}"
