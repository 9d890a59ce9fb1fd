"""``SparseGrad``: the gradient of a table when a batch touched only a few of its rows.

An embedding table W (V, D) used by a batch of N token ids gets a gradient that is zero in every row
the batch did not use. word2vec's tables have V = 5,492 rows of which one batch touches ~600 (input
table) and ~2,000 (output table); a dense gradient would be mostly zeros that the optimiser then
reads, multiplies and adds. ``nn.Embedding(..., sparse=True)`` gives its weight this instead:

    indices (k,)     the rows that were used, each once, in increasing order (int64)
    values  (k, D)   their gradient rows: the sum over every use of that row in the batch
    shape   (V, D)   the shape of the whole table

so that ``to_dense()[indices] == values`` and every other row is zero. (PyTorch's sparse COO
gradient is the same idea; it keeps repeated rows until ``coalesce()``, this one sums them at once.)

Who reads a ``.grad`` that is a ``SparseGrad``:

- ``optim.SGD`` and ``optim.SparseAdam`` update only the ``indices`` rows; the other optimisers refuse
  it with a message, as PyTorch's do;
- ``clip_grad_norm_`` / ``clip_grad_value_`` scale or clip ``values`` (the zeros need neither);
- a second ``backward()`` adds into it (sparse + sparse stays sparse, sparse + dense is dense);
- NumPy sees it as its dense array (``np.asarray(g)`` is ``g.to_dense()``), so code that only reads a
  gradient — gradient checking, ``np.testing`` — works unchanged. Array methods it does not have
  (``reshape``, ``sum``, …) raise an error that says to call ``to_dense()``.
"""
import math

from gradwork.backend import xp


class SparseGrad:
    """A gradient that is zero outside the rows ``indices``: rows (k,), their ``values`` (k, *row_shape),
    and the ``shape`` of the whole table. Build one with :meth:`from_rows`, which sums repeated rows."""

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices, values, shape):
        self.indices, self.values, self.shape = indices, values, tuple(shape)

    @classmethod
    def from_rows(cls, indices, rows, shape):
        """The gradient whose row ``indices[i]`` receives ``rows[i]``, with the rows of a repeated index added:

            values[j] = Σ_{i : indices[i] = u_j} rows[i]      for the distinct indices u_1 < … < u_k

        that is, values = one_hot(indices)ᵀ · rows over the distinct indices only. ``indices`` (N,)
        integer, ``rows`` (N, *row_shape).
        """
        indices = xp.asarray(indices).reshape(-1)
        n = len(indices)
        rows = rows.reshape((n,) + tuple(shape[1:]))
        # Sort the indices so equal ones sit together: each run of equal indices is one output row.
        # (Indices below 2¹⁶ are sorted as uint16, for which NumPy's stable sort is a radix sort:
        # 0.02 ms against 0.17 ms as int64 for 6,144 indices.)
        keys = indices.astype(xp.uint16) if shape[0] <= 1 << 16 else indices
        order = xp.argsort(keys, kind="stable")
        ordered = indices[order]
        starts = xp.flatnonzero(xp.concatenate(([True], ordered[1:] != ordered[:-1]))) if n else order
        # Summing each run is a product with the 0/1 matrix one_hot(indices)ᵀ (k, N): row j has its ones at
        # the batch positions of u_j, which are order[starts[j]:starts[j+1]]. Stored sparse (SciPy's
        # CSR: exactly those positions) the product costs O(N·D). Measured for a 5,492-row table,
        # D = 100, float32 (word2vec's), with N = 1,024 and 5,120 ids, the whole dense gradient:
        # this way 0.10 and 0.22 ms (the sparse result alone 0.06 and 0.16 ms); the same sorted runs
        # summed by np.add.reduceat 0.36 and 1.8 ms; np.bincount on row·D + column 0.33 and 11.4 ms;
        # np.add.at (integer indexing's backward) 0.92 and 4.6–8.6 ms. (Medians of 30–40 calls on a
        # 2-core machine shared with other jobs.)
        from scipy import sparse  # SciPy is imported where it is used, not by `import gradwork`
        width = math.prod(shape[1:])
        one_hot_t = sparse.csr_array((xp.ones(n, rows.dtype), order, xp.append(starts, n)),
                                     shape=(len(starts), n))
        values = (one_hot_t @ rows.reshape(n, width)).reshape((len(starts),) + tuple(shape[1:]))
        return cls(ordered[starts].astype(xp.int64, copy=False), values.astype(rows.dtype, copy=False), shape)

    # ----------------------------------------------------------------- what an array would tell
    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self):
        return len(self.shape)

    def to_dense(self):
        """The whole gradient as an array of ``shape``: ``values`` in the rows ``indices``, zero elsewhere."""
        dense = xp.zeros(self.shape, self.values.dtype)
        dense[self.indices] = self.values
        return dense

    def __array__(self, dtype=None, copy=None):
        dense = self.to_dense()
        return dense if dtype is None else dense.astype(dtype, copy=False)

    def astype(self, dtype, copy=True):
        if not copy and self.values.dtype == dtype:
            return self
        return SparseGrad(self.indices, self.values.astype(dtype), self.shape)

    def copy(self):
        return SparseGrad(self.indices.copy(), self.values.copy(), self.shape)

    # ----------------------------------------------------------------- arithmetic a gradient needs
    def __add__(self, other):
        """Accumulation: sparse + sparse stays sparse (rows of both, shared rows added); sparse + dense is dense."""
        if isinstance(other, SparseGrad):
            if other.shape != self.shape:
                raise ValueError(f"cannot add sparse gradients of shapes {self.shape} and {other.shape}")
            return SparseGrad.from_rows(xp.concatenate((self.indices, other.indices)),
                                        xp.concatenate((self.values, other.values)), self.shape)
        dense = xp.array(other, dtype=xp.result_type(self.values, other))  # a new array: never edit `other`
        dense[self.indices] += self.values
        return dense

    __radd__ = __add__

    def __mul__(self, scalar):
        """Scaling by a number (clipping, a loss scale): only the stored rows change."""
        if xp.ndim(scalar) != 0:
            raise TypeError("a SparseGrad can only be multiplied by a number; call .to_dense() first")
        return SparseGrad(self.indices, self.values * scalar, self.shape)

    __rmul__ = __mul__

    def __neg__(self):
        return SparseGrad(self.indices, -self.values, self.shape)

    def __getattr__(self, name):  # only reached for names a SparseGrad does not have
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"'SparseGrad' has no attribute {name!r}: this gradient is sparse (only the rows "
                             f"it lists, of a table of shape {self.shape}); call .to_dense() for an array")

    def __repr__(self):
        return (f"SparseGrad(shape={self.shape}, {len(self.indices)} rows, dtype={self.values.dtype}, "
                f"indices={self.indices})")
