"""Embedding lookup and one-hot encoding.

An embedding is a table W of shape (num_embeddings, dim); looking up token ids picks rows of it.
It is the same as one_hot(ids) @ W, without building the one-hot matrix.
"""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import LabelError
from gradwork.ops.shape import GetItem


def check_token_ids(ids, num_embeddings, what="embedding"):
    """Raise a clear error unless ``ids`` are integers in [0, num_embeddings)."""
    if not xp.issubdtype(ids.dtype, xp.integer):
        raise LabelError(f"{what}: token ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_embeddings):
        bad = ids.max() if ids.max() >= num_embeddings else ids.min()
        raise LabelError(f"{what}: token id {int(bad)} is out of range: ids must be in 0..{num_embeddings - 1} "
                         f"(the largest allowed is {num_embeddings - 1}, for a table of {num_embeddings} rows)")


class EmbeddingFunction(GetItem):
    """y[..., :] = W[ids[...], :] with ids (*) integer and W (num_embeddings, dim) → y (*, dim).

    It is integer-array indexing of the table, whose backward already scatter-adds: every
    occurrence of a token adds its gradient to that token's row, so a token used twice in a batch
    gets the sum. On top of that, the row of ``padding_idx`` gets no gradient.
    """

    def __init__(self, ids, padding_idx=None):
        super().__init__(ids)
        self.padding_idx = padding_idx

    def backward(self, gy):
        grad = super().backward(gy)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad


def _ids_array(ids):
    data = getattr(ids, "data", ids)
    return xp.asarray(data)


def embedding(ids, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``ids`` (*) → (*, dim)."""
    ids = _ids_array(ids)
    check_token_ids(ids, weight.shape[0])
    return EmbeddingFunction(ids, padding_idx)(weight)


def one_hot(ids, num_classes=-1):
    """Integer ids (*) → (*, num_classes) array of 0/1 (int64, as PyTorch). ``num_classes=-1``: max + 1."""
    ids = _ids_array(ids)
    if num_classes == -1:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    check_token_ids(ids, num_classes, "one_hot")
    return Tensor(xp.eye(num_classes, dtype=xp.int64)[ids])
