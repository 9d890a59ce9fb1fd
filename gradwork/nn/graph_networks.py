"""Graph neural network layers for node classification: ``GraphConv`` and ``GraphAttention``.

A graph of N nodes is given by its adjacency matrix A (N, N) (A[i, j] ≠ 0 when j is a neighbour
of i) and node features H (N, F). Each layer mixes every node's features with its neighbours'.
"""
import math

from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_array_module, get_default_dtype, to_device_of, xp
from gradwork.errors import ShapeError
from gradwork.nn import init
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops.activations import leaky_relu, softmax
from gradwork.ops.arithmetic import matmul
from gradwork.ops.dropout import dropout
from gradwork.ops.linear import linear
from gradwork.ops.shape import permute, reshape, unsqueeze


def _check_graph(who, x, adjacency):
    adjacency = adjacency.data if isinstance(adjacency, Tensor) else adjacency
    adjacency = to_device_of(adjacency, x.data)  # the graph goes where x is
    n = x.shape[0]
    if x.ndim != 2 or adjacency.shape != (n, n):
        raise ShapeError(f"{who}: expected node features (N, F) and an adjacency matrix (N, N); got features "
                         f"{x.shape} and adjacency {adjacency.shape}")
    return adjacency


def normalize_adjacency(adjacency):
    """Â = D^−½ (A + I) D^−½, with D the degree matrix of A + I (Kipf & Welling's renormalisation):
    every node keeps its own features (the self-loop) and high-degree neighbours count less."""
    a = (adjacency.data if isinstance(adjacency, Tensor) else adjacency)
    m = get_array_module(a)
    a = m.asarray(a, dtype=get_default_dtype())
    a = a + m.eye(a.shape[0], dtype=a.dtype)
    d = 1 / m.sqrt(a.sum(axis=1))
    return d[:, None] * a * d[None, :]


class GraphConv(Module):
    """Spatial graph convolution: H' = Â H Wᵀ + b, with Â = ``normalize_adjacency(A)``.

    ``forward(x (N, in_features), adjacency (N, N))`` → (N, out_features). Apply the activation
    outside (σ in H' = σ(Â H W)). Weight (out, in) Xavier-uniform, bias 0.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(xp.empty((out_features, in_features), dtype))
        init.xavier_uniform_(self.weight)
        if bias:
            self.bias = Parameter(xp.zeros(out_features, dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x, adjacency):
        x = as_tensor(x)
        adjacency = _check_graph("GraphConv", x, adjacency)
        a_hat = Tensor(normalize_adjacency(adjacency).astype(x.dtype, copy=False))
        return linear(matmul(a_hat, x), self.weight, self.bias)  # (Â H) Wᵀ + b, the same as Â (H Wᵀ) + b

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"


class GraphAttention(Module):
    """Graph attention (GAT, Veličković et al.): each node averages its neighbours' transformed
    features with learned weights::

        z = H Wᵀ                                   (N, heads, F')
        e_ij = LeakyReLU(a_srcᵀ z_i + a_dstᵀ z_j)  for j a neighbour of i or i itself
        α_ij = softmax_j(e_ij),   h'_i = Σ_j α_ij z_j  (+ bias)

    ``forward(x (N, in_features), adjacency (N, N))`` → (N, heads·out_features) when ``concat``, else the
    mean over heads (N, out_features). ``dropout`` applies to the attention weights while training.
    """

    def __init__(self, in_features, out_features, heads=1, concat=True, negative_slope=0.2, dropout=0.0,
                 bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features, self.heads = in_features, out_features, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        dtype = dtype or get_default_dtype()
        self.weight = Parameter(xp.empty((heads * out_features, in_features), dtype))
        self.att_src = Parameter(xp.empty((heads, out_features), dtype))
        self.att_dst = Parameter(xp.empty((heads, out_features), dtype))
        for p in (self.weight, self.att_src, self.att_dst):
            init.xavier_uniform_(p)
        if bias:
            self.bias = Parameter(xp.zeros(heads * out_features if concat else out_features, dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x, adjacency, return_weights=False):
        x = as_tensor(x)
        adjacency = _check_graph("GraphAttention", x, adjacency)
        n = x.shape[0]
        z = reshape(linear(x, self.weight), n, self.heads, self.out_features)   # (N, heads, F')
        score_i = (z * self.att_src).sum(axis=-1)                                 # (N, heads)
        score_j = (z * self.att_dst).sum(axis=-1)
        e = leaky_relu(unsqueeze(permute(score_i, 1, 0), 2) + unsqueeze(permute(score_j, 1, 0), 1),
                       self.negative_slope)                                        # (heads, N, N)
        m = get_array_module(adjacency)
        allowed = (adjacency != 0) | m.eye(n, dtype=bool)
        e = e + Tensor(m.where(allowed, 0.0, -math.inf).astype(e.dtype))
        alpha = softmax(e, axis=-1)
        attended = dropout(alpha, self.dropout, self.training) if self.dropout else alpha
        h = permute(matmul(attended, permute(z, 1, 0, 2)), 1, 0, 2)              # (N, heads, F')
        h = reshape(h, n, self.heads * self.out_features) if self.concat else h.mean(axis=1)
        if self.bias is not None:
            h = h + self.bias
        return (h, alpha) if return_weights else h

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, heads={self.heads}, concat={self.concat}"
