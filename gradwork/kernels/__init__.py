"""Fast kernels: the speed-tuned versions of ops whose plain version, in ``gradwork/ops/``, is the
course's algorithm.

Each fast kernel is a ``Function`` that computes what its reference op computes — same inputs, same
outputs, same gradients, to rounding — by other means: other memory layouts, blocking for the cache,
fused passes, bytes recorded in forward so backward reads less. (Two entries are not ops: the in-place
``target += α·x`` the optimisers' updates are made of, ``gradwork.optim.optimizer.add_scaled``, whose
fast version is BLAS's axpy, and SparseAdam's update of the used rows,
``gradwork.optim.sparse_adam.update_rows``, whose fast version is one compiled loop.) Every file here
says what it speeds up, by how much (measured) and why the numbers do not change; ``tests/kernels/``
checks each one against its reference over many shapes, in float32 and float64.

One switch selects the path for every op::

    gw.kernels.use("reference")            # from now on, the course's versions
    with gw.kernels.use("reference"):      # …or only inside the block
        loss = model(x)
    gw.kernels.current()                   # "fast" (the default) or "reference"

An op asks :func:`choose` for the Function class to run; only ops that have a fast version are listed
in ``FAST``. The switch is per thread and per asyncio task (a ``contextvars.ContextVar``), like
``no_grad``.

A few kernels that NumPy can only write as several passes over memory (max and average pooling,
SparseAdam's row update, batch and layer normalisation, depthwise convolution, GELU, sigmoid and SiLU in
float32, ReLU's backward, softmax, log-softmax and cross-entropy along float32 rows) are also written as plain
loops compiled by Numba, used when it is installed (``pip install "gradwork[jit]"``; ``kernels/jit.py``): the
same numbers (the normalisations', GELU's, sigmoid's, SiLU's and the softmaxes' to rounding), in fewer passes.
``gw.kernels.jit.enable(False)`` keeps the NumPy versions.

Large elementwise passes can be split over the cores (``kernels/threads.py``; it says when that pays)::

    gw.kernels.get_num_threads()           # how many threads a pass is split across
    gw.kernels.set_num_threads(1)          # never split; None: the automatic choice again
"""
import contextvars
import importlib

from gradwork.kernels import jit  # noqa: F401  (gw.kernels.jit.enable; Numba itself is imported when first used)
from gradwork.kernels.threads import get_num_threads, set_num_threads

PATHS = ("fast", "reference")

#: reference Function (module.qualname) → (module, class) of its fast kernel, imported when first chosen.
FAST = {
    "gradwork.ops.conv.Conv2dFunction": ("gradwork.kernels.conv", "FastConv2d"),
    "gradwork.ops.conv.ConvTranspose2dFunction": ("gradwork.kernels.conv", "FastConvTranspose2d"),
    "gradwork.ops.pooling.MaxPool2dFunction": ("gradwork.kernels.pooling", "FastMaxPool2d"),
    "gradwork.ops.pooling.AvgPool2dFunction": ("gradwork.kernels.pooling", "FastAvgPool2d"),
    "gradwork.ops.pooling.AdaptiveAvgPool2dFunction": ("gradwork.kernels.pooling", "FastAdaptiveAvgPool2d"),
    "gradwork.ops.normalization.BatchNormalize": ("gradwork.kernels.normalization", "FastBatchNormalize"),
    "gradwork.ops.recurrent.LSTMLayer": ("gradwork.kernels.recurrent", "FastLSTMLayer"),
    "gradwork.ops.recurrent.GRULayer": ("gradwork.kernels.recurrent", "FastGRULayer"),
    "gradwork.ops.activations.ReLUFunction": ("gradwork.kernels.activations", "FastReLU"),
    "gradwork.ops.activations.LeakyReLUFunction": ("gradwork.kernels.smooth_activations", "FastLeakyReLU"),
    "gradwork.ops.activations.ELUFunction": ("gradwork.kernels.smooth_activations", "FastELU"),
    "gradwork.ops.activations.SigmoidFunction": ("gradwork.kernels.smooth_activations", "FastSigmoid"),
    "gradwork.ops.activations.SiLUFunction": ("gradwork.kernels.smooth_activations", "FastSiLU"),
    "gradwork.ops.activations.SoftplusFunction": ("gradwork.kernels.smooth_activations", "FastSoftplus"),
    "gradwork.ops.activations.GELUFunction": ("gradwork.kernels.smooth_activations", "FastGELU"),
    "gradwork.ops.activations.SoftmaxFunction": ("gradwork.kernels.softmax", "FastSoftmax"),
    "gradwork.ops.activations.LogSoftmaxFunction": ("gradwork.kernels.softmax", "FastLogSoftmax"),
    "gradwork.ops.linear.LinearFunction": ("gradwork.kernels.linear", "FastLinear"),
    "gradwork.ops.classification_losses.CrossEntropy": ("gradwork.kernels.cross_entropy", "FastCrossEntropy"),
    "gradwork.ops.arithmetic.MatMul": ("gradwork.kernels.matmul", "FastMatMul"),
    "gradwork.ops.shape.Split": ("gradwork.kernels.shape", "FastSplit"),
    # the in-place step of every optimiser (not a Function: no gradient flows through an update)
    "gradwork.optim.optimizer.add_scaled": ("gradwork.kernels.blas", "add_scaled"),
    "gradwork.optim.sparse_adam.update_rows": ("gradwork.kernels.sparse_adam", "update_rows"),
    # compositions of ops, not one Function: the fast path runs each as one op (its ``applies`` says when)
    "gradwork.ops.attention.scaled_dot_product_attention": ("gradwork.kernels.attention", "FusedAttention"),
    "gradwork.ops.normalization.layer_norm": ("gradwork.kernels.normalization", "FusedLayerNorm"),
    "gradwork.ops.normalization.normalize_with_statistics": ("gradwork.kernels.normalization", "FrozenBatchNorm"),
}

_path = contextvars.ContextVar("gradwork_kernels", default="fast")
_loaded = {}  # reference op → what runs for it on the fast path (its kernel, or itself), imported once


class use:
    """Select the path for every op: ``"fast"`` (the default) or ``"reference"``. Takes effect at once;
    used as a context manager, the previous path comes back at the end of the block."""

    def __init__(self, path):
        if path not in PATHS:
            raise ValueError(f"kernels.use: path must be one of {PATHS}, got {path!r}")
        self.path = path
        self._token = _path.set(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _path.reset(self._token)
        return False


def current():
    """The path in use: ``"fast"`` or ``"reference"``."""
    return _path.get()


def choose(reference):
    """The Function class to run for the op whose reference version is ``reference``: its fast kernel
    when the fast path is on and one exists, else ``reference`` itself."""
    if _path.get() == "reference":
        return reference
    chosen = _loaded.get(reference)  # every op call asks: the answer is kept by the reference object itself
    if chosen is None:
        entry = FAST.get(f"{reference.__module__}.{reference.__qualname__}")
        chosen = _loaded[reference] = getattr(importlib.import_module(entry[0]), entry[1]) if entry else reference
    return chosen
