"""Each recorded gradwork op as ONNX nodes: one small function per Function class.

A converter gets a context ``c`` (see ``exporter.Context``) with the op (``c.fn``), the ONNX names of
its inputs (``c.x``) and of the outputs it must produce (``c.out``), their shapes, and helpers:
``c.node(op_type, inputs, outputs=None, **attributes)`` adds a node and returns its output name,
``c.const(array)`` / ``c.ints(list)`` / ``c.scalar(number)`` add an initializer,
``c.unsupported(reason)`` refuses the op. The reference Function classes are mapped (export traces
under ``kernels.use("reference")``); ``MODULES`` maps the layers exported whole.
"""
import math

import numpy as np

from gradwork.backend import xp


def _unary(op_type, **attributes):
    def convert(c):
        c.node(op_type, [c.x[0]], c.out, **attributes)
    return convert


def _binary(op_type):
    def convert(c):
        c.node(op_type, c.x[:2], c.out)
    return convert


def linear(c):
    x, w = c.x[0], c.x[1]
    if len(c.in_shapes[0]) == 2:  # (N, in) · Wᵀ + b: one Gemm
        c.node("Gemm", c.x, c.out, transB=1)
        return
    y = c.node("MatMul", [x, c.node("Transpose", [w], perm=[1, 0])])
    if len(c.x) > 2:
        c.node("Add", [y, c.x[2]], c.out)
    else:
        c.node("Identity", [y], c.out)


def leaky_relu(c):
    c.node("LeakyRelu", c.x, c.out, alpha=float(c.fn.negative_slope))


def elu(c):
    c.node("Elu", c.x, c.out, alpha=float(c.fn.alpha))


def silu(c):  # x·σ(x)
    c.node("Mul", [c.x[0], c.node("Sigmoid", [c.x[0]])], c.out)


def softplus(c):  # log(1 + e^(βx))/β, and x itself where βx > threshold
    x = c.x[0]
    z = c.node("Mul", [x, c.scalar(c.fn.beta)])
    smooth = c.node("Div", [c.node("Softplus", [z]), c.scalar(c.fn.beta)])
    c.node("Where", [c.node("Greater", [z, c.scalar(c.fn.threshold)]), x, smooth], c.out)


def hardtanh(c):
    c.node("Clip", [c.x[0], c.scalar(c.fn.min_val), c.scalar(c.fn.max_val)], c.out)


def gelu(c):
    x = c.x[0]
    if c.fn.approximate == "tanh":  # 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = c.node("Mul", [c.node("Mul", [x, x]), x])
        inner = c.node("Mul", [c.node("Add", [x, c.node("Mul", [cube, c.scalar(0.044715)])]),
                               c.scalar(math.sqrt(2 / math.pi))])
        gate = c.node("Add", [c.node("Tanh", [inner]), c.scalar(1.0)])
    else:  # 0.5x(1 + erf(x/√2))
        gate = c.node("Add", [c.node("Erf", [c.node("Div", [x, c.scalar(math.sqrt(2))])]), c.scalar(1.0)])
    c.node("Mul", [c.node("Mul", [x, gate]), c.scalar(0.5)], c.out)


def softmax(c):
    c.node("Softmax", c.x, c.out, axis=int(c.fn.axis))


def log_softmax(c):
    c.node("LogSoftmax", c.x, c.out, axis=int(c.fn.axis))


def pow_scalar(c):
    c.node("Pow", [c.x[0], c.scalar(c.fn.exponent)], c.out)


def log1p(c):
    c.node("Log", [c.node("Add", [c.x[0], c.scalar(1.0)])], c.out)


def clip(c):
    low = c.scalar(c.fn.low) if c.fn.low is not None else ""
    high = c.scalar(c.fn.high) if c.fn.high is not None else ""
    c.node("Clip", [c.x[0], low, high], c.out)


def cast(c):
    from onnx import helper
    c.node("Cast", c.x, c.out, to=helper.np_dtype_to_tensor_dtype(np.dtype(c.fn.dtype)))


def where(c):
    c.node("Where", [c.const(np.asarray(c.fn.condition, dtype=bool)), c.x[0], c.x[1]], c.out)


def masked_fill(c):
    c.node("Where", [c.const(np.asarray(c.fn.mask, dtype=bool)), c.scalar(c.fn.value), c.x[0]], c.out)


def _axes(axes, ndim):
    if axes is None:
        return list(range(ndim))
    axes = (axes,) if isinstance(axes, int) else axes
    return [int(a) % ndim for a in axes]


def _reduce_node(c, op_type, x, axes, keepdims, output=None, attribute_axes_before=18):
    outputs = None if output is None else [output]
    if c.opset >= attribute_axes_before:
        return c.node(op_type, [x, c.ints(axes)], outputs, keepdims=keepdims)
    return c.node(op_type, [x], outputs, axes=axes, keepdims=keepdims)


def prod(c):
    axes = _axes(c.fn.axis, len(c.in_shapes[0]))
    keepdims = int(bool(c.fn.keepdims)) if c.fn.axis is not None else 0
    _reduce_node(c, "ReduceProd", c.x[0], axes, keepdims, c.out[0])


def norm(c):
    """‖x‖_p: ReduceL1 / ReduceL2, max |x| for p = inf, (Σ|x|ᵖ)^(1/p) otherwise."""
    axes = _axes(c.fn.axes, len(c.in_shapes[0]))
    keepdims, p = int(bool(c.fn.keepdims)), c.fn.p
    if p in (1, 2):
        _reduce_node(c, f"ReduceL{int(p)}", c.x[0], axes, keepdims, c.out[0])
    elif p == math.inf:
        _reduce_node(c, "ReduceMax", c.node("Abs", [c.x[0]]), axes, keepdims, c.out[0])
    else:
        powered = c.node("Pow", [c.node("Abs", [c.x[0]]), c.scalar(p)])
        total = _reduce_node(c, "ReduceSum", powered, axes, keepdims, attribute_axes_before=13)
        c.node("Pow", [total, c.scalar(1 / p)], c.out)


def cumsum(c):
    if not c.in_shapes[0]:  # a 0-d input is its own running sum
        c.node("Identity", c.x, c.out)
        return
    c.node("CumSum", [c.x[0], c.graph.add_const(np.asarray(c.fn.axis, dtype=np.int64))], c.out)


def gather(c):
    """torch.gather is ONNX's GatherElements once the input is cut to the index's extent on the other
    axes. The index is a constant of the file, so it cannot follow the batch size."""
    if c.dynamic_axes(0):
        c.unsupported("a gather whose index follows the batch size (the index is an array, not a tensor input; "
                      "use dynamic_batch=False)")
    index, shape = np.asarray(c.fn.index, dtype=np.int64), c.in_shapes[0]
    x = c.x[0]
    if any(n != shape[d] for d, n in enumerate(index.shape) if d != c.fn.axis):
        ends = [n if d != c.fn.axis else shape[d] for d, n in enumerate(index.shape)]
        x = c.node("Slice", [x, c.ints([0] * len(ends)), c.ints(ends)])
    c.node("GatherElements", [x, c.const(index)], c.out, axis=int(c.fn.axis))


def affine_grid(c):
    """grid = base · θᵀ with the (H·W, 3) base grid a constant of the file: ONNX's own AffineGrid needs
    opset 20, and this form runs from opset 13."""
    from gradwork.ops.grid_sample import AffineGrid
    h, w = c.fn.size[2:]
    AffineGrid.forward(c.fn, np.zeros((1, 2, 3), c.out_dtype))  # sets c.fn.base, the rows (x_w, y_h, 1)
    base = c.const(np.asarray(c.fn.base, dtype=c.out_dtype)[None])                 # (1, H·W, 3)
    grid = c.node("MatMul", [base, c.node("Transpose", [c.x[0]], perm=[0, 2, 1])])  # (N, H·W, 2)
    c.node("Reshape", [grid, c.ints([-1, h, w, 2])], c.out)


def grid_sample(c):
    if c.opset < 16:
        c.unsupported("grid_sample needs opset 16 or later (ONNX's GridSample); pass opset_version=16")
    mode = c.fn.mode if c.opset < 20 else {"bilinear": "linear"}.get(c.fn.mode, c.fn.mode)
    c.node("GridSample", c.x, c.out, mode=mode, padding_mode=c.fn.padding_mode,
           align_corners=int(bool(c.fn.align_corners)))


def step(c):  # 1 where x > 0, else 0
    from onnx import helper
    c.node("Cast", [c.node("Greater", [c.x[0], c.scalar(0)])], c.out,
           to=helper.np_dtype_to_tensor_dtype(c.out_dtype))


def _reduce(op_type, attribute_axes_before=18):
    """ReduceSum takes its axes as an input from opset 13, the others from opset 18."""
    def convert(c):
        ndim = len(c.in_shapes[0])
        axes = _axes(c.fn.axes, ndim)
        keepdims = int(bool(c.fn.keepdims))
        if c.opset >= attribute_axes_before:
            c.node(op_type, [c.x[0], c.ints(axes)], c.out, keepdims=keepdims)
        else:
            c.node(op_type, [c.x[0]], c.out, axes=axes, keepdims=keepdims)
    return convert


def extremum(c):
    name = getattr(c.fn.reduce, "__name__", str(c.fn.reduce))  # xp.max / xp.amax, xp.min / xp.amin
    _reduce("ReduceMax" if "max" in name else "ReduceMin")(c)


def reshape(c):
    """The traced target shape, with the one size that follows the batch written −1."""
    shape = list(c.out_shapes[0])
    varying = c.dynamic_axes(0)
    if len(varying) > 1:
        c.unsupported(f"a reshape to {tuple(shape)} in which {len(varying)} sizes follow the batch size")
    for axis in varying:
        shape[axis] = -1
    c.node("Reshape", [c.x[0], c.ints(shape)], c.out)


def expand(c):
    shape = list(c.out_shapes[0])
    for axis in c.dynamic_axes(0):
        shape[axis] = 1  # Expand broadcasts both ways: 1 keeps the input's (batch) size
    c.node("Expand", [c.x[0], c.ints(shape)], c.out)


def permute(c):
    ndim = len(c.in_shapes[0])
    c.node("Transpose", c.x, c.out, perm=[int(d) % ndim for d in c.fn.dims])


def get_item(c):
    """Basic indexing: ints, slices, None and ``...``; or one integer array on one axis (Gather)."""
    index = c.fn.index if isinstance(c.fn.index, tuple) else (c.fn.index,)
    shape = c.in_shapes[0]
    if c.fn.advanced:
        arrays = [i for i, p in enumerate(index) if not (isinstance(p, slice) and p == slice(None))]
        if len(arrays) != 1 or isinstance(index[arrays[0]], slice):
            c.unsupported("indexing with integer arrays on more than one axis")
        axis = arrays[0]
        c.node("Gather", [c.x[0], c.const(np.asarray(index[axis], dtype=np.int64))], c.out, axis=axis)
        return
    if any(isinstance(p, (list, xp.ndarray)) for p in index):
        c.unsupported("indexing with a boolean mask")
    if sum(p is Ellipsis for p in index) > 1:
        c.unsupported("an index with two ellipses")
    consumed = sum(1 for p in index if p is not None and p is not Ellipsis)
    parts = []
    for p in index:
        parts.extend([slice(None)] * (len(shape) - consumed) if p is Ellipsis else [p])
    parts.extend([slice(None)] * (len(shape) + sum(p is None for p in parts) - len(parts)))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for p in parts:
        if p is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(p, slice):
            if p != slice(None):
                start, stop, step = p.indices(shape[axis])
                if step < 0 and stop < 0:
                    stop = -shape[axis] - 1  # past the front: ONNX's "to the start" going backwards
                big = np.iinfo(np.int64).max  # an open end stays open whatever the size (a sequence reversed)
                if p.start is None:
                    start = 0 if step > 0 else -1
                if p.stop is None:
                    stop = big if step > 0 else -big
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
            out_axis += 1
        else:
            i = int(p) % shape[axis]
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = c.x[0]
    if axes:
        y = c.node("Slice", [y, c.ints(starts), c.ints(ends), c.ints(axes), c.ints(steps)])
    if squeeze:
        y = c.node("Squeeze", [y, c.ints(squeeze)])
    if unsqueeze:
        y = c.node("Unsqueeze", [y, c.ints(unsqueeze)])
    c.node("Identity", [y], c.out)


def cat(c):
    c.node("Concat", c.x, c.out, axis=int(c.fn.axis) % len(c.out_shapes[0]))


def stack(c):
    axis = int(c.fn.axis) % len(c.out_shapes[0])
    c.node("Concat", [c.node("Unsqueeze", [x, c.ints([axis])]) for x in c.x], c.out, axis=axis)


def split(c):
    axis = int(c.fn.axis) % len(c.in_shapes[0])
    c.node("Split", [c.x[0], c.ints(c.fn.sizes)], c.out, axis=axis)


def flip(c):
    ndim = len(c.in_shapes[0])
    axes = _axes(c.fn.axes, ndim)
    big = np.iinfo(np.int64).max
    c.node("Slice", [c.x[0], c.ints([-1] * len(axes)), c.ints([-big] * len(axes)), c.ints(axes),
                     c.ints([-1] * len(axes))], c.out)


def repeat(c):
    repeats = list(c.fn.repeats)
    x = c.x[0]
    extra = len(repeats) - len(c.in_shapes[0])
    if extra > 0:
        x = c.node("Unsqueeze", [x, c.ints(list(range(extra)))])
    c.node("Tile", [x, c.ints(repeats)], c.out)


def conv2d(c):
    (ph, pw) = c.fn.padding
    c.node("Conv", c.x, c.out, strides=list(c.fn.stride), pads=[ph, pw, ph, pw], dilations=list(c.fn.dilation),
           group=int(c.fn.groups), kernel_shape=list(c.in_shapes[1][2:]))


def max_pool2d(c):
    (ph, pw), (eh, ew) = c.fn.padding, c.fn.extra  # extra: ceil_mode's rows and columns past the end
    c.node("MaxPool", c.x, c.out, kernel_shape=list(c.fn.kernel), strides=list(c.fn.stride),
           pads=[ph, pw, ph + eh, pw + ew], dilations=list(c.fn.dilation))


def avg_pool2d(c):
    """Sum of the (zero-padded) window / kh·kw; a divisor per window (padding not counted, ceil_mode,
    divisor_override) multiplies by kh·kw / divisor afterwards."""
    (ph, pw), (eh, ew) = c.fn.padding, c.fn.extra
    kh, kw = c.fn.kernel
    attributes = dict(kernel_shape=[kh, kw], strides=list(c.fn.stride), pads=[ph, pw, ph + eh, pw + ew],
                      count_include_pad=1)
    if c.fn.divisor is None:
        c.node("AveragePool", c.x, c.out, **attributes)
        return
    y = c.node("AveragePool", c.x, **attributes)
    factor = (kh * kw / np.asarray(c.fn.divisor, dtype=np.float64)).astype(c.out_dtype)
    c.node("Mul", [y, c.const(factor)], c.out)


def adaptive_avg_pool2d(c):
    """y = P_h · x · P_wᵀ with the op's averaging matrices; output 1×1 is GlobalAveragePool."""
    if tuple(c.fn.output_size) == (1, 1):
        c.node("GlobalAveragePool", c.x, c.out)
        return
    y = c.node("MatMul", [c.const(np.asarray(c.fn.ph)), c.x[0]])
    c.node("MatMul", [y, c.const(np.ascontiguousarray(np.asarray(c.fn.pw).T))], c.out)


def conv_transpose2d(c):
    """Weight (C_in, C_out/g, kh, kw) is ONNX's layout too; output_padding adds rows at the end."""
    (ph, pw) = c.fn.padding
    c.node("ConvTranspose", c.x, c.out, strides=list(c.fn.stride), pads=[ph, pw, ph, pw],
           dilations=list(c.fn.dilation), group=int(c.fn.groups), output_padding=list(c.fn.output_padding),
           kernel_shape=list(c.in_shapes[1][2:]))


def _pads(c):
    """ONNX's pads [begin of every axis…, end of every axis…] from the op's {axis: (left, right)}."""
    ndim = len(c.in_shapes[0])
    begins, ends = [0] * ndim, [0] * ndim
    for axis, (left, right) in c.fn.pairs.items():
        begins[axis], ends[axis] = int(left), int(right)
    return begins + ends


def constant_pad(c):
    """Pad with a value; negative amounts crop, in ONNX as in gradwork."""
    c.node("Pad", [c.x[0], c.ints(_pads(c)), c.scalar(c.fn.value)], c.out, mode="constant")


PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def copy_pad(c):
    """Reflect → Pad 'reflect', replicate → 'edge', circular → 'wrap' (opset 19 on). A negative amount
    (a crop) becomes one Gather of the op's own source positions per padded axis (they do not depend
    on the batch size: only trailing axes are padded)."""
    from gradwork.ops.padding import source_index
    mode = c.fn.mode
    if mode == "circular" and c.opset < 19:
        c.unsupported("circular padding needs ONNX Pad's mode 'wrap', which came with opset 19; "
                      "export with opset_version=19 or later")
    if all(left >= 0 and right >= 0 for left, right in c.fn.pairs.values()):
        c.node("Pad", [c.x[0], c.ints(_pads(c))], c.out, mode=PAD_MODES[mode])
        return
    y, shape = c.x[0], list(c.in_shapes[0])
    for axis, (left, right) in c.fn.pairs.items():
        index = np.asarray(source_index(mode, shape[axis], left, right), dtype=np.int64)
        y = c.node("Gather", [y, c.const(index)], axis=axis)
        shape[axis] = len(index)
    c.node("Identity", [y], c.out)


# ------------------------------------------------------------------ recurrent layers
# PyTorch stacks the gates LSTM i, f, g, o and GRU r, z, n; ONNX stacks LSTM i, o, f, c and GRU z, r, h.
GATE_ORDER = {"RNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


def _onnx_weights(c, kind, hidden, w_ih, w_hh, b_ih, b_hh):
    """(1, G·H, I), (1, G·H, H) and (1, 2·G·H) or "" from gradwork's weight names: the gate blocks
    reordered by a Gather, so the parameters stay initializers under their state-dict names."""
    rows = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in GATE_ORDER[kind]]).astype(np.int64)
    reorder = (lambda name: name) if kind == "RNN" else (lambda name: c.node("Gather", [name, c.const(rows)], axis=0))
    first = c.ints([0])
    w = c.node("Unsqueeze", [reorder(w_ih), first])
    r = c.node("Unsqueeze", [reorder(w_hh), first])
    if b_ih is None:
        return w, r, ""
    return w, r, c.node("Unsqueeze", [c.node("Concat", [reorder(b_ih), reorder(b_hh)], axis=0), first])


def _concat_directions(c, parts):
    return parts[0] if len(parts) == 1 else c.node("Concat", parts, axis=0)


def _recurrent_node(c, kind, x, weights, hidden, initial, direction="forward", nonlinearity="tanh"):
    """One ONNX RNN/LSTM/GRU node: weights = [(W, R, B) per direction]; initial = [initial_h, initial_c]
    (names or ""). Returns Y (T, D, B, H), Y_h (D, B, H) and, for the LSTM, Y_c."""
    w, r, b = (_concat_directions(c, list(part)) if all(part) else "" for part in zip(*weights))
    outputs = 3 if kind == "LSTM" else 2
    attributes = dict(hidden_size=int(hidden), direction=direction)
    if kind == "RNN":
        attributes["activations"] = ["Tanh" if nonlinearity == "tanh" else "Relu"] * len(weights)
    if kind == "GRU":
        attributes["linear_before_reset"] = 1  # PyTorch's candidate: r ⊙ (W_hn h + b_hn)
    inputs = [x, w, r, b, "", *initial]
    while inputs and inputs[-1] == "":
        inputs.pop()
    return c.node(kind, inputs, [c.graph.fresh(f"{kind.lower()}_{n}") for n in ("y", "y_h", "y_c")[:outputs]],
                  **attributes)


def _layer_op(kind):
    """One direction of one layer (``ops.recurrent``): x (T, B, I), h0 (B, H)[, c0], W_ih, W_hh[, b_ih, b_hh]
    → every h (T, B, H), the last h[, the last c] (B, H)."""
    def convert(c):
        states = 2 if kind == "LSTM" else 1
        x, initial = c.x[0], c.x[1:1 + states]
        weights = c.x[1 + states:] + [None] * (4 - len(c.x[1 + states:]))
        hidden = c.in_shapes[1][-1]
        first = c.ints([0])
        initial = [c.node("Unsqueeze", [h, first]) for h in initial]
        outputs = _recurrent_node(c, kind, x, [_onnx_weights(c, kind, hidden, *weights)], hidden, initial,
                                  nonlinearity=getattr(c.fn, "nonlinearity", "tanh"))
        c.node("Squeeze", [outputs[0], c.ints([1])], [c.out[0]])
        for y, out in zip(outputs[1:], c.out[1:]):
            c.node("Squeeze", [y, first], [out])
    return convert


def standardize(c):
    """x̂ = (x − mean)/√(var + ε) over ``axes``: LayerNormalization (scale 1, bias 0) over trailing axes."""
    ndim = len(c.in_shapes[0])
    axes = sorted(_axes(c.fn.axes, ndim))
    if axes == list(range(axes[0], ndim)) and c.opset >= 17:
        normalized = c.in_shapes[0][axes[0]:]
        c.node("LayerNormalization", [c.x[0], c.const(np.ones(normalized, c.out_dtype)),
                                      c.const(np.zeros(normalized, c.out_dtype))], c.out,
               axis=axes[0], epsilon=float(c.fn.eps))
        return
    mean = _reduce_mean(c, c.x[0], axes)
    centered = c.node("Sub", [c.x[0], mean])
    var = _reduce_mean(c, c.node("Mul", [centered, centered]), axes)
    c.node("Div", [centered, c.node("Sqrt", [c.node("Add", [var, c.scalar(c.fn.eps)])])], c.out)


def _reduce_mean(c, x, axes, keepdims=1):
    if c.opset >= 18:
        return c.node("ReduceMean", [x, c.ints(axes)], keepdims=keepdims)
    return c.node("ReduceMean", [x], axes=axes, keepdims=keepdims)


CONVERTERS = {
    "LinearFunction": linear,
    "ReLUFunction": _unary("Relu"),
    "LeakyReLUFunction": leaky_relu,
    "SigmoidFunction": _unary("Sigmoid"),
    "TanhFunction": _unary("Tanh"),
    "ELUFunction": elu,
    "SiLUFunction": silu,
    "SoftplusFunction": softplus,
    "HardtanhFunction": hardtanh,
    "GELUFunction": gelu,
    "SoftmaxFunction": softmax,
    "LogSoftmaxFunction": log_softmax,
    "Add": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "Div": _binary("Div"),
    "Pow": _binary("Pow"),
    "MatMul": _binary("MatMul"),
    "Neg": _unary("Neg"),
    "PowScalar": pow_scalar,
    "Exp": _unary("Exp"),
    "Log": _unary("Log"),
    "Log1p": log1p,
    "Sin": _unary("Sin"),
    "Cos": _unary("Cos"),
    "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"),
    "Clone": _unary("Identity"),
    "Clip": clip,
    "Cast": cast,
    "Where": where,
    "MaskedFill": masked_fill,
    "Sum": _reduce("ReduceSum", attribute_axes_before=13),
    "Mean": _reduce("ReduceMean"),
    "LogSumExp": _reduce("ReduceLogSumExp"),
    "Prod": prod,
    "Norm": norm,
    "CumSum": cumsum,
    "Gather": gather,
    "StepFunction": step,
    "AffineGrid": affine_grid,
    "GridSample": grid_sample,
    "Extremum": extremum,
    "Reshape": reshape,
    "Expand": expand,
    "Permute": permute,
    "GetItem": get_item,
    "Cat": cat,
    "Stack": stack,
    "Split": split,
    "Flip": flip,
    "Repeat": repeat,
    "Conv2dFunction": conv2d,
    "FastConv2d": conv2d,
    "ConvTranspose2dFunction": conv_transpose2d,
    "FastConvTranspose2d": conv_transpose2d,
    "ConstantPad": constant_pad,
    "CopyPad": copy_pad,
    "RNNLayer": _layer_op("RNN"),
    "LSTMLayer": _layer_op("LSTM"),
    "FastLSTMLayer": _layer_op("LSTM"),
    "GRULayer": _layer_op("GRU"),
    "FastGRULayer": _layer_op("GRU"),
    "MaxPool2dFunction": max_pool2d,
    "AvgPool2dFunction": avg_pool2d,
    "AdaptiveAvgPool2dFunction": adaptive_avg_pool2d,
    "Standardize": standardize,
}


# ------------------------------------------------------------------ layers exported whole

def batch_norm(c):
    """Eval-mode batch norm (running statistics) as one BatchNormalization node; the layer's scale and
    shift are its parameters (ones and zeros without ``affine``)."""
    m = c.module
    if not m.track_running_stats:
        c.unsupported("batch norm with batch statistics (no running statistics)")
    channels = m.num_features
    dtype = c.out_dtype
    scale = c.param(m.weight) if m.weight is not None else c.const(np.ones(channels, dtype))
    bias = c.param(m.bias) if m.bias is not None else c.const(np.zeros(channels, dtype))
    mean, var = c.param(m.running_mean), c.param(m.running_var)
    c.node("BatchNormalization", [c.x[0], scale, bias, mean, var], c.out, epsilon=float(m.eps))


def embedding(c):
    """Rows of the weight picked by the (int64) ids: Gather on axis 0."""
    if getattr(c.module, "max_norm", None) is not None:
        c.unsupported("an embedding with max_norm (it renormalises rows while it runs)")
    if c.x:
        ids = c.x[0]
    else:  # ids given as an array, not a tensor (learned positions: arange(T)): a constant
        if c.dynamic_axes(0):
            c.unsupported("embedding ids that follow the batch size but are not a tensor input")
        raw = c.node_.record.args[0]
        ids = c.const(np.asarray(getattr(raw, "data", raw), dtype=np.int64))
    c.node("Gather", [c.param(c.module.weight), ids], c.out, axis=0)


def recurrent(c):
    """nn.RNN / nn.LSTM / nn.GRU whole: one ONNX node per layer (both directions in one node when
    bidirectional), the initial state left out when none was given (zeros, of whatever batch size),
    the time-first layout, the layers' outputs and the final states put together as gradwork does."""
    from gradwork.nn.recurrent import GRU, LSTM
    m = c.module
    kind = "LSTM" if isinstance(m, LSTM) else "GRU" if isinstance(m, GRU) else "RNN"
    states = 2 if kind == "LSTM" else 1
    x, given = c.x[0], c.x[1:1 + states]
    if not given and _has_hidden_state(c.node_.record, m):
        c.unsupported("an initial state passed as a keyword argument (pass it positionally: rnn(x, hx))")
    unbatched = len(c.in_shapes[0]) == 2
    if unbatched:
        x = c.node("Unsqueeze", [x, c.ints([1])])
        given = [c.node("Unsqueeze", [h, c.ints([1])]) for h in given]
    elif m.batch_first:
        x = c.node("Transpose", [x], perm=[1, 0, 2])
    D, H = m.num_directions, m.hidden_size
    finals = [[] for _ in range(states)]
    for layer in range(m.num_layers):
        weights = [_onnx_weights(c, kind, H, *[c.param(t) if t is not None else None for t in
                                               m._weights(suffix) + [None] * (4 - len(m._weights(suffix)))])
                   for suffix in m._suffixes(layer)]
        initial = [c.node("Slice", [h, c.ints([layer * D]), c.ints([(layer + 1) * D]), c.ints([0])]) for h in given]
        outputs = _recurrent_node(c, kind, x, weights, H, initial, "bidirectional" if D == 2 else "forward",
                                  getattr(m, "nonlinearity", "tanh"))
        y = outputs[0]  # (T, D, B, H) → (T, B, D·H)
        if D == 2:
            y = c.node("Transpose", [y], perm=[0, 2, 1, 3])
        x = c.node("Reshape", [y, c.ints([0, 0, -1])]) if D == 2 else c.node("Squeeze", [y, c.ints([1])])
        for kept, final in zip(finals, outputs[1:]):
            kept.append(final)
    finals = [kept[0] if len(kept) == 1 else c.node("Concat", kept, axis=0) for kept in finals]
    if unbatched:
        x = c.node("Squeeze", [x, c.ints([1])])
        finals = [c.node("Squeeze", [h, c.ints([1])]) for h in finals]
    elif m.batch_first:
        x = c.node("Transpose", [x], perm=[1, 0, 2])
    for value, out in zip([x] + finals, c.out):
        c.node("Identity", [value], [out])


def _has_hidden_state(record, module):
    """Whether the module's recorded ops used a leaf, other than its parameters, that is not all zeros
    (a state the forward hook did not see, given by keyword)."""
    params = {id(p) for p in module.parameters()}
    stop = set(record.input_keys)
    stack, seen = [t._creator for t in record.outputs if t._creator is not None], set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for (creator, index), t in zip(fn.input_edges, fn.inputs):
            if creator is None:
                if id(t) not in params and ("leaf", id(t)) not in stop and np.any(np.asarray(t.data)):
                    return True
            elif ("op", id(creator), index) not in stop:
                stack.append(creator)
    return False


def _normalized_adjacency(c, adjacency):
    """Â = D^−½ (A + I) D^−½ in ONNX nodes (``nn.normalize_adjacency``, which runs in NumPy): the graph
    is an input of the file, so a model exported once runs on any graph of any number of nodes."""
    a = c.node("Add", [adjacency, c.node("EyeLike", [adjacency])])
    d = c.node("Reciprocal", [c.node("Sqrt", [c.node("ReduceSum", [a, c.ints([1])], keepdims=1)])])  # (N, 1)
    return c.node("Mul", [c.node("Mul", [d, a]), c.node("Transpose", [d], perm=[1, 0])])


def _graph_inputs(c):
    """The node features and the adjacency; an adjacency given as an array (a graph fixed in the model)
    becomes a constant of the file."""
    args = c.node_.record.args
    if len(c.x) == 2:
        return c.x
    if len(c.x) == 1 and len(args) == 2 and not hasattr(args[1], "_creator"):
        return c.x[0], c.const(np.asarray(getattr(args[1], "data", args[1]), dtype=c.out_dtype))
    c.unsupported("a graph layer called with other than (node features, adjacency)")


def graph_conv(c):
    """nn.GraphConv whole: H' = Â H Wᵀ + b, with Â computed in the file from the adjacency input."""
    x, adjacency = _graph_inputs(c)
    h = c.node("MatMul", [_normalized_adjacency(c, adjacency), x])
    m = c.module
    if m.bias is not None:
        c.node("Gemm", [h, c.param(m.weight), c.param(m.bias)], c.out, transB=1)
    else:
        c.node("MatMul", [h, c.node("Transpose", [c.param(m.weight)], perm=[1, 0])], c.out)


def graph_attention(c):
    """nn.GraphAttention whole (eval mode: no dropout): the same steps as its forward, with the
    neighbourhood mask (A ≠ 0, or the node itself) made in the file from the adjacency input."""
    x, adjacency = _graph_inputs(c)
    m = c.module
    heads, features = m.heads, m.out_features
    z = c.node("Reshape", [c.node("MatMul", [x, c.node("Transpose", [c.param(m.weight)], perm=[1, 0])]),
                           c.ints([0, heads, features])])                                     # (N, heads, F')

    def score(attention):  # (N, heads) → (heads, N)
        s = c.node("ReduceSum", [c.node("Mul", [z, c.param(attention)]), c.ints([2])], keepdims=0)
        return c.node("Transpose", [s], perm=[1, 0])
    e = c.node("Add", [c.node("Unsqueeze", [score(m.att_src), c.ints([2])]),
                       c.node("Unsqueeze", [score(m.att_dst), c.ints([1])])])                  # (heads, N, N)
    e = c.node("LeakyRelu", [e], alpha=float(m.negative_slope))
    from onnx import TensorProto
    neighbour = c.node("Not", [c.node("Equal", [adjacency, c.scalar(0)])])
    allowed = c.node("Or", [neighbour, c.node("Cast", [c.node("EyeLike", [adjacency])], to=TensorProto.BOOL)])
    alpha = c.node("Softmax", [c.node("Where", [allowed, e, c.scalar(-math.inf)])], axis=-1)
    h = c.node("Transpose", [c.node("MatMul", [alpha, c.node("Transpose", [z], perm=[1, 0, 2])])], perm=[1, 0, 2])
    h = c.node("Reshape", [h, c.ints([0, -1])]) if m.concat else _reduce_mean(c, h, [1], keepdims=0)
    if m.bias is not None:
        h = c.node("Add", [h, c.param(m.bias)])
    c.node("Identity", [h], [c.out[0]])
    if len(c.out) > 1:  # return_weights=True
        c.node("Identity", [alpha], [c.out[1]])


def cheb_conv(c):
    """nn.ChebConv whole: the scaled Laplacian L̃ = 2L/λ_max − I built in the file from the adjacency
    input (self-loops dropped; an isolated node's D^−½ or D^−1 is 0), then the Chebyshev recursion
    T_0 = X, T_1 = L̃X, T_k = 2L̃T_{k−1} − T_{k−2} and out = Σ_k T_k Θ_kᵀ + b."""
    x, adjacency = _graph_inputs(c)
    m, record = c.module, c.node_.record
    lambda_max = record.args[2] if len(record.args) > 2 else record.kwargs.get("lambda_max")
    if lambda_max is None and m.normalization == "sym":
        lambda_max = 2.0
    if isinstance(lambda_max, str) or lambda_max is None:
        c.unsupported("lambda_max='compute' (the largest eigenvalue has no ONNX operator): pass the number")
    if m.K > 1:
        off_diagonal = c.node("Sub", [c.scalar(1), c.node("EyeLike", [adjacency])])
        a = c.node("Mul", [adjacency, off_diagonal])
        degree = c.node("ReduceSum", [a, c.ints([1])], keepdims=1)                             # (N, 1)
        if m.normalization is None:
            laplacian = c.node("Sub", [c.node("Mul", [c.node("EyeLike", [adjacency]), degree]), a])
        else:
            scale = c.node("Sqrt", [degree]) if m.normalization == "sym" else degree
            inverse = c.node("Where", [c.node("Greater", [degree, c.scalar(0)]),
                                       c.node("Reciprocal", [scale]), c.scalar(0)])
            columns = c.node("Transpose", [inverse], perm=[1, 0])                              # (1, N)
            walked = c.node("Mul", [a, columns])                                                # A D^−1
            if m.normalization == "sym":
                walked = c.node("Mul", [inverse, walked])                                       # D^−½ A D^−½
            laplacian = c.node("Sub", [c.node("EyeLike", [adjacency]), walked])
        l_tilde = c.node("Sub", [c.node("Mul", [laplacian, c.scalar(2.0 / float(lambda_max))]),
                                 c.node("EyeLike", [adjacency])])

    def term(t, k):
        return c.node("MatMul", [t, c.node("Transpose", [c.param(m.lins[k].weight)], perm=[1, 0])])
    t_prev, t = None, x
    out = term(t, 0)
    for k in range(1, m.K):
        product = c.node("MatMul", [l_tilde, t])
        t_prev, t = t, (product if k == 1 else c.node("Sub", [c.node("Mul", [product, c.scalar(2)]), t_prev]))
        out = c.node("Add", [out, term(t, k)])
    if m.bias is not None:
        out = c.node("Add", [out, c.param(m.bias)])
    c.node("Identity", [out], c.out)


def module_converters():
    """Layer class → converter, for the layers exported as a whole."""
    from gradwork.nn.embedding import Embedding
    from gradwork.nn.cheb_conv import ChebConv
    from gradwork.nn.graph_networks import GraphAttention, GraphConv
    from gradwork.nn.normalization import _BatchNorm
    from gradwork.nn.recurrent import RNNBase
    return {_BatchNorm: batch_norm, Embedding: embedding, RNNBase: recurrent, GraphConv: graph_conv,
            GraphAttention: graph_attention, ChebConv: cheb_conv}


def square_inputs(records):
    """The ids of the tensors the graph layers took as their adjacency: a graph's node count is the size
    of both of its axes, so the batch (node) axis of such an input is axes 0 and 1."""
    from gradwork.nn.cheb_conv import ChebConv
    from gradwork.nn.graph_networks import GraphAttention, GraphConv
    return {id(r.inputs[1]) for r in records if isinstance(r.module, (GraphConv, GraphAttention, ChebConv))
            and len(r.inputs) > 1}
