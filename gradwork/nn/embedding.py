"""``Embedding``: a trainable lookup table from token ids to vectors."""
from gradwork.backend import get_default_dtype, xp
from gradwork.nn import init
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.embedding import embedding


class Embedding(Module):
    """y = W[ids]: integer ids (*) → vectors (*, embedding_dim).

    Parameter ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch; the row of
    ``padding_idx`` starts at zero and gets no gradient. Equivalent to one_hot(ids) @ W, without the
    one-hot matrix; repeated ids in a batch add their gradients.

    ``sparse=True`` (as in PyTorch): ``weight.grad`` holds only the rows the batch used, a
    :class:`~gradwork.autograd.sparse.SparseGrad` — for a large table of which a batch touches a few rows
    (word2vec). Train it with ``optim.SparseAdam`` or ``optim.SGD``; the other optimisers refuse it.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None, *, sparse=False):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is outside 0..{num_embeddings - 1}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.sparse = bool(sparse)
        self.weight = Parameter(xp.empty((num_embeddings, embedding_dim), dtype or get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, ids):
        return embedding(ids, self.weight, self.padding_idx, sparse=self.sparse)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        sparse = ", sparse=True" if self.sparse else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}{sparse}"
