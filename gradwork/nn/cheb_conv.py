"""Spectral graph convolution with Chebyshev polynomials: ``ChebConv`` (Defferrard et al., 2016).

A graph signal X (N, F) — one row of features per node — is filtered in the graph's *spectral*
domain: with the Laplacian L = U Λ Uᵀ, a filter is a function g(Λ) of the eigenvalues, and
filtering is U g(Λ) Uᵀ X. Learning g freely needs the eigenvectors (O(N³)) and is not local. A
polynomial of degree K − 1 in L is local (it mixes nodes at most K − 1 hops apart) and needs no
eigenvectors; Chebyshev polynomials are a stable basis for it on [−1, 1], where the scaled
Laplacian L̃ has its spectrum::

    L̃ = 2 L / λ_max − I
    T_0 = X,   T_1 = L̃ X,   T_k = 2 L̃ T_{k−1} − T_{k−2}
    out = Σ_{k=0}^{K−1} T_k Θ_kᵀ + b

Names, parameters and defaults are PyTorch Geometric's (``lins.k.weight`` (out, in), Glorot-uniform,
``bias`` zeros), with a dense adjacency (N, N) as in :class:`~gradwork.nn.GraphConv` instead of an edge
list. ``GraphConv`` (Kipf & Welling) is the K = 2 case simplified further: one shared Θ and the
renormalised Â = D̃^−½(A + I)D̃^−½ — the spatial view of the same idea.
"""
import numbers

from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_array_module, get_default_dtype, to_host, xp
from gradwork.backend.compat import errstate
from gradwork.errors import ConfigError
from gradwork.nn import init
from gradwork.nn.containers import ModuleList
from gradwork.nn.graph_networks import _check_graph
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.arithmetic import matmul

NORMALIZATIONS = (None, "sym", "rw")


def laplacian(adjacency, normalization="sym"):
    """The graph Laplacian of a dense adjacency A (N, N), with D the diagonal of A's row sums:

    - ``None``:  L = D − A                       (combinatorial)
    - ``"sym"``: L = I − D^−½ A D^−½              (symmetric normalised; spectrum in [0, 2])
    - ``"rw"``:  L = I − A D^−1                   (random walk, as PyTorch Geometric applies it: node i
      receives x_j / deg(j) from each neighbour j, the columns of I − D^−1 A's transpose)

    Self-loops (A's diagonal) are ignored, and an isolated node's D^−½ is taken as 0, as in PyTorch
    Geometric's ``get_laplacian``. Returns a float64 array (N, N).
    """
    a = (adjacency.data if isinstance(adjacency, Tensor) else adjacency)
    m = get_array_module(a)  # NumPy, or CuPy for a graph on a GPU
    a = m.array(a, dtype=m.float64)
    m.fill_diagonal(a, 0)
    degree = a.sum(axis=1)
    if normalization is None:
        return m.diag(degree) - a
    with errstate(degree, divide="ignore"):
        inverse = 1 / (m.sqrt(degree) if normalization == "sym" else degree)
    inverse[~m.isfinite(inverse)] = 0  # an isolated node: no neighbours to average over
    if normalization == "sym":
        return m.eye(len(a)) - inverse[:, None] * a * inverse[None, :]
    return m.eye(len(a)) - a * inverse[None, :]


def scaled_laplacian(adjacency, normalization="sym", lambda_max=None):
    """L̃ = 2 L / λ_max − I, the Laplacian with its spectrum moved from [0, λ_max] into [−1, 1].

    ``lambda_max``: a number; ``"compute"`` for the exact largest eigenvalue of L; or None, which means
    2 for ``"sym"`` (an upper bound of its spectrum, PyTorch Geometric's default) and is an error for the
    other normalisations, whose spectrum has no fixed bound. Returns a float64 array (N, N).
    """
    lap = laplacian(adjacency, normalization)
    if lambda_max is None:
        if normalization != "sym":
            raise ConfigError(f"ChebConv: with normalization={normalization!r} the Laplacian's largest eigenvalue "
                              "has no fixed bound; pass lambda_max (a number, or 'compute' to compute it)")
        lambda_max = 2.0
    elif isinstance(lambda_max, str):
        if lambda_max != "compute":
            raise ConfigError(f"ChebConv: lambda_max must be a positive number, 'compute' or None, got {lambda_max!r}")
        host = to_host(lap)  # one eigenvalue problem, on the CPU (CuPy has no general eigvals)
        symmetric = xp.allclose(host, host.T)
        eigenvalues = xp.linalg.eigvalsh(host) if symmetric else xp.linalg.eigvals(host).real
        lambda_max = float(eigenvalues.max())
    if not isinstance(lambda_max, numbers.Real) or not lambda_max > 0:
        raise ConfigError(f"ChebConv: lambda_max must be a positive number (the Laplacian's largest eigenvalue), "
                          f"got {lambda_max!r}; a graph without edges has only the eigenvalue 0 — give it edges")
    return 2.0 * lap / lambda_max - get_array_module(lap).eye(len(lap))


class ChebConv(Module):
    """Chebyshev spectral graph convolution: out = Σ_{k<K} T_k(L̃) X Θ_kᵀ + b.

    Args:
        in_channels, out_channels: features per node in and out.
        K: the number of Chebyshev terms (filter size); each node sees its (K − 1)-hop neighbourhood.
            K = 1 is a Linear layer applied to each node alone.
        normalization: the Laplacian (see :func:`laplacian`): ``"sym"`` (default), ``"rw"`` or None.
        bias: add a learned bias b (out_channels,).

    ``forward(x (N, in_channels), adjacency (N, N), lambda_max=None)`` → (N, out_channels). ``adjacency``
    is dense (A[i, j] ≠ 0 when j is a neighbour of i, the value its edge weight); ``lambda_max`` as in
    :func:`scaled_laplacian`. Apply the activation outside.
    Parameters: ``lins.k.weight`` (out_channels, in_channels) for k < K (Glorot-uniform), ``bias`` (zeros).
    """

    def __init__(self, in_channels, out_channels, K, normalization="sym", bias=True, dtype=None):
        super().__init__()
        if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
            raise ConfigError(f"ChebConv: K (the number of Chebyshev terms) must be a positive integer, got {K!r}")
        if normalization not in NORMALIZATIONS:
            raise ConfigError(f"ChebConv: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        self.in_channels, self.out_channels, self.K = in_channels, out_channels, int(K)
        self.normalization = normalization
        dtype = dtype or get_default_dtype()
        self.lins = ModuleList(Linear(in_channels, out_channels, bias=False, dtype=dtype) for _ in range(self.K))
        if bias:
            self.bias = Parameter(xp.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        for lin in self.lins:
            init.xavier_uniform_(lin.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x, adjacency, lambda_max=None):
        x = as_tensor(x)
        adjacency = _check_graph("ChebConv", x, adjacency)
        l_tilde = Tensor(scaled_laplacian(adjacency, self.normalization, lambda_max).astype(x.dtype, copy=False))
        t_prev, t = None, x                                   # T_0 = X
        out = self.lins[0](t)
        for k in range(1, self.K):
            # T_1 = L̃ X; T_k = 2 L̃ T_{k−1} − T_{k−2}
            t_prev, t = t, (matmul(l_tilde, t) if k == 1 else 2 * matmul(l_tilde, t) - t_prev)
            out = out + self.lins[k](t)
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, K={self.K}, normalization={self.normalization!r}"
