"""Differentiable image warping: ``affine_grid`` and ``grid_sample`` (the spatial transformer's two halves).

A spatial transformer (Jaderberg et al., 2015) lets a network move, turn and zoom its own input. It
has three parts: a *localisation network* predicts the six numbers θ of an affine map, ``affine_grid``
turns θ into a *sampling grid* — for every output pixel, the point of the input to read — and
``grid_sample`` reads the input there, interpolating between pixels. Both are differentiable, in θ
and in the input, so the localisation network learns from the classifier's loss alone.

Coordinates are **normalised**, as in PyTorch: x runs from −1 (left) to +1 (right), y from −1 (top) to
+1 (bottom), whatever the image size. ``align_corners`` says what ±1 means:

    align_corners=True:   ±1 are the centres of the corner pixels       ix = (x + 1)/2 · (W − 1)
    align_corners=False:  ±1 are the outer edges of the corner pixels   ix = ((x + 1)·W − 1)/2

(ix is the column in pixel units, 0 … W − 1 at the pixel centres; iy likewise with H.) With
``align_corners=False`` — the default — the result does not depend on the resolution the image
happens to have, which is why it is the default.

Each function is a ``Function`` with its backward written out: the input gradient is a scatter-add of
the output gradient to the pixels that were read (``np.add.at``, no Python loop over pixels), the grid
gradient is the derivative of the interpolation weights.
"""
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, to_device_of, xp
# xp.pad, xp.clip, xp.floor … below are NumPy's functions; given a CuPy array they run CuPy's (NumPy's
# dispatch protocols), so they stay on the device. New arrays are made with get_array_module(input).
from gradwork.backend.compat import scatter_add
from gradwork.errors import ConfigError, ShapeError

MODES = ("bilinear", "nearest")
PADDING_MODES = ("zeros", "border", "reflection")


# --- affine_grid ---------------------------------------------------------------------------------

def normalised_positions(steps, align_corners, dtype):
    """The normalised coordinate of each of ``steps`` pixel centres along one axis: −1 … 1 with
    ``align_corners``, else the same shrunk by (steps − 1)/steps so that ±1 are the outer edges.
    One pixel sits at 0 (PyTorch's rule)."""
    if steps <= 1:
        return xp.zeros(steps, dtype)
    positions = xp.linspace(-1, 1, steps, dtype=dtype)
    return positions if align_corners else positions * ((steps - 1) / steps)


class AffineGrid(Function):
    """grid[n, h, w] = θ[n] · (x_w, y_h, 1)ᵀ: the point of the input that output pixel (h, w) reads.

        forward:   base (H·W, 3) holds the rows (x_w, y_h, 1);   grid (N, H·W, 2) = base · θᵀ
        backward:  ∂L/∂θ[n] = (∂L/∂grid[n])ᵀ · base          (N, 2, 3)

    θ (N, 2, 3) → grid (N, H, W, 2), the last axis (x, y) in normalised coordinates.
    """

    def __init__(self, size, align_corners):
        self.size, self.align_corners = size, align_corners

    def forward(self, theta):
        h, w = self.size[2:]
        xs = to_device_of(normalised_positions(w, self.align_corners, theta.dtype), theta)  # made on the host,
        ys = to_device_of(normalised_positions(h, self.align_corners, theta.dtype), theta)  # used where θ is
        base = get_array_module(theta).empty((h, w, 3), theta.dtype)
        base[..., 0], base[..., 1], base[..., 2] = xs[None, :], ys[:, None], 1
        self.base = base.reshape(h * w, 3)
        return (self.base @ theta.transpose(0, 2, 1)).reshape(len(theta), h, w, 2)

    def backward(self, ggrid):
        n = len(ggrid)
        return ggrid.reshape(n, -1, 2).transpose(0, 2, 1) @ self.base


def affine_grid(theta, size, align_corners=False):
    """The sampling grid of the affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H, W),
    PyTorch's ``F.affine_grid``: (N, H, W, 2), grid[n, h, w] = θ[n] · (x_w, y_h, 1)ᵀ in normalised
    coordinates (see the module docstring; ``align_corners`` as for :func:`grid_sample`).

    θ = [[1, 0, 0], [0, 1, 0]] is the identity; [[s, 0, tx], [0, s, ty]] reads a window s times the
    image's size, centred at (tx, ty): the output zooms in by 1/s and shifts the content by −(tx, ty).
    """
    theta = as_tensor(theta)
    if theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ShapeError(f"affine_grid: theta must have shape (N, 2, 3) — one 2×3 affine matrix per image — "
                         f"got {theta.shape}; reshape a batch of 6 numbers with theta.reshape(-1, 2, 3)")
    if theta.dtype.kind != "f":
        raise TypeError(f"affine_grid: theta must hold floating-point numbers, got dtype {theta.dtype}")
    if (isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 4
            or not all(isinstance(s, numbers.Integral) and s > 0 for s in size)):
        raise ShapeError(f"affine_grid: size must be the output's (N, C, H, W), four positive ints, got {size!r} "
                         "(only 2-D grids are supported)")
    if size[0] != theta.shape[0]:
        raise ShapeError(f"affine_grid: size {tuple(size)} asks for {size[0]} images but theta holds "
                         f"{theta.shape[0]} matrices")
    return AffineGrid(tuple(int(s) for s in size), bool(align_corners))(theta)


# --- grid_sample ---------------------------------------------------------------------------------

def unnormalise(coordinate, size, align_corners):
    """Normalised coordinate → pixel coordinate along an axis of ``size`` pixels, and its derivative:

        align_corners=True:   i = (x + 1)/2 · (size − 1),   di/dx = (size − 1)/2
        align_corners=False:  i = ((x + 1)·size − 1)/2,     di/dx = size/2
    """
    if align_corners:
        return (coordinate + 1) / 2 * (size - 1), (size - 1) / 2
    return ((coordinate + 1) * size - 1) / 2, size / 2


def clip(i, size):
    """``padding_mode='border'``: i clamped to [0, size − 1], and di/di — 0 where clamped (PyTorch counts the
    two limits themselves as clamped)."""
    slope = ((i > 0) & (i < size - 1)).astype(i.dtype)
    return xp.clip(i, 0, size - 1), slope


def reflect(i, low, high):
    """Fold i into [low, high] by reflecting it off the two ends as often as it takes, and di/di (±1).

    With d = |i − low| and span = high − low, a point that crossed an even number of ends lies at
    low + (d mod span), an odd number at high − (d mod span) (PyTorch's ``reflect_coordinates``).
    """
    if high == low:  # a one-pixel axis with align_corners=True: everything reflects to 0
        return xp.zeros_like(i), xp.zeros_like(i)
    span = high - low
    sign = xp.where(i < low, -1, 1).astype(i.dtype)  # |i − low| turns the slope around left of low
    distance = xp.abs(i - low)
    extra = xp.fmod(distance, span)
    even = xp.floor(distance / span) % 2 == 0
    return xp.where(even, low + extra, high - extra), xp.where(even, sign, -sign)


def source_index(coordinate, size, padding_mode, align_corners):
    """Pixel coordinate (and its derivative w.r.t. the normalised ``coordinate``) of the point to read.

    'zeros' leaves it as it is (points outside read 0), 'border' clamps it to the edge pixels,
    'reflection' mirrors it at the borders — at the corner-pixel centres with ``align_corners``, at the
    image's outer edges without — and then clamps (a point on an outer edge lies half a pixel outside
    the centres).
    """
    m = get_array_module(coordinate)
    # A NaN coordinate (a diverging localisation network) is followed as 0, then moved far outside the
    # image where its taps read the frame of zeros and pass no gradient; GridSample makes its output NaN.
    bad = m.isnan(coordinate)
    if bad.any():
        coordinate = m.where(bad, 0, coordinate)
    i, slope = unnormalise(coordinate, size, align_corners)
    if padding_mode == "border":
        i, clip_slope = clip(i, size)
        slope = slope * clip_slope
    elif padding_mode == "reflection":
        low, high = (0, size - 1) if align_corners else (-0.5, size - 0.5)
        i, reflect_slope = reflect(i, low, high)
        i, clip_slope = clip(i, size)
        slope = slope * reflect_slope * clip_slope
    slope = xp.broadcast_to(m.asarray(slope, dtype=i.dtype), i.shape)
    if bad.any():
        i, slope = m.where(bad, -2 * size - 2, i), m.where(bad, 0, slope)
    return i, slope


def taps(i, mode):
    """The pixels along one axis that points at pixel coordinate ``i`` read, with their weights along
    that axis: [(pixel, weight), …]. A point reads every combination of a column tap and a row tap,
    weighted by the product of the two weights.

    nearest:   round(i), weight 1 — halves rounded to even, as PyTorch's nearbyint
    bilinear:  i0 = ⌊i⌋ with weight 1 − f and i0 + 1 with weight f, where f = i − i0; so the four pixels
               around (ix, iy) get (1 − fx)(1 − fy), fx(1 − fy), (1 − fx)fy and fx·fy
    """
    if mode == "nearest":
        return [(xp.rint(i), None)]  # weight None: 1, nothing to multiply
    i0 = xp.floor(i)
    f = i - i0
    return [(i0, 1 - f), (i0 + 1, f)]


class GridSample(Function):
    """out[n, c, h, w] = Σ_corners weight · input[n, c, row, column], the corners (row, column) and their
    weights from :func:`taps` at the point grid[n, h, w] (pixels outside the image count as 0).

    input (N, C, H, W), grid (N, H', W', 2) → out (N, C, H', W').

    Pixels outside the image read 0: the input gets a one-pixel frame of zeros and every corner is
    clamped into the frame, so a point far outside reads the frame's zeros and no mask is needed.
    Pixels are read as rows of a channels-last (N·(H+2)·(W+2), C) table: one fancy index per corner.

    Backward — the output is linear in the input, so its gradient goes back along the same weights:

        ∂L/∂input[n, c, row, column] += weight · ∂L/∂out[n, c, h, w]        (a scatter-add: np.add.at)

    and for the grid (bilinear; nearest is piecewise constant, its grid gradient 0, as in PyTorch),
    with v00, v10, v01, v11 the four pixel values (0 outside) and g = ∂L/∂out:

        ∂L/∂ix = Σ_c g · ((v10 − v00)(1 − fy) + (v11 − v01) fy)
        ∂L/∂iy = Σ_c g · ((v01 − v00)(1 − fx) + (v11 − v10) fx)
        ∂L/∂grid[..., 0] = ∂L/∂ix · dix/dx,  ∂L/∂grid[..., 1] = ∂L/∂iy · diy/dy   (:func:`source_index`)
    """

    def __init__(self, mode, padding_mode, align_corners):
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners

    def forward(self, x, grid):
        n, c, h, w = x.shape
        ix, dix = source_index(grid[..., 0].reshape(n, -1), w, self.padding_mode, self.align_corners)
        iy, diy = source_index(grid[..., 1].reshape(n, -1), h, self.padding_mode, self.align_corners)
        framed = xp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # the frame of zeros every outside point reads
        table = framed.transpose(0, 2, 3, 1).reshape(-1, c)  # one row per framed pixel, (N·(H+2)·(W+2), C)
        image_start = (get_array_module(x).arange(n) * ((h + 2) * (w + 2)))[:, None]
        # Each tap clamped into the frame, −1 … W (or H), then shifted by one for the frame; a row tap
        # becomes the offset of that row in the table.
        column_taps = [(xp.clip(column, -1, w).astype(xp.intp) + 1, weight) for column, weight in taps(ix, self.mode)]
        row_taps = [(image_start + (xp.clip(row, -1, h).astype(xp.intp) + 1) * (w + 2), weight)
                    for row, weight in taps(iy, self.mode)]
        self.rows, self.weights = [], []  # per corner, in the order (x0, y0), (x0+1, y0), (x0, y0+1), (x0+1, y0+1)
        for row, row_weight in row_taps:
            for column, column_weight in column_taps:
                self.rows.append((row + column).ravel())
                self.weights.append(None if row_weight is None else (row_weight * column_weight).reshape(-1, 1))
        values = [table[rows] for rows in self.rows]  # (N·H'·W', C) per corner
        if self.mode == "nearest":
            out = values[0]
        else:
            out = sum(weight * value for weight, value in zip(self.weights, values))
        self.input_shape = x.shape
        if self.mode == "bilinear" and self.needs_input_grad[1]:
            self.values = values
            self.fx, self.fy = (ix - xp.floor(ix)).reshape(-1, 1), (iy - xp.floor(iy)).reshape(-1, 1)
            self.dix, self.diy = dix, diy
        out = out.reshape(n, *grid.shape[1:3], c).transpose(0, 3, 1, 2).astype(x.dtype, copy=False)
        lost = get_array_module(grid).isnan(grid).any(axis=-1)  # (N, H', W'): a NaN point reads NaN, so
        if lost.any():                                           # a diverging θ shows in the loss
            out = get_array_module(out).where(lost[:, None], get_array_module(out).nan, out)
        return out

    def backward(self, gy):
        n, c, h, w = self.input_shape
        g = gy.transpose(0, 2, 3, 1).reshape(-1, c)  # channels last, one row per output pixel, as in forward
        gx = ggrid = None
        if self.needs_input_grad[0]:
            # Scatter-add, corner by corner, on the flat (framed pixel, channel) index: np.add.at adds every
            # repeated index (plain ``framed[index] += amount`` would keep only one of them).
            module = get_array_module(gy)
            channel = module.arange(c)
            framed = module.zeros(n * (h + 2) * (w + 2) * c, gy.dtype)
            for rows, weight in zip(self.rows, self.weights):
                amount = g if weight is None else weight * g
                scatter_add(framed, (rows[:, None] * c + channel).ravel(), amount.ravel())
            framed = framed.reshape(n, h + 2, w + 2, c).transpose(0, 3, 1, 2)
            gx = framed[:, :, 1:-1, 1:-1]  # the frame's gradient is dropped
        if self.needs_input_grad[1]:
            ggrid = get_array_module(gy).zeros((gy.shape[0], *gy.shape[2:], 2), gy.dtype)
            if self.mode == "bilinear":
                v00, v10, v01, v11 = self.values
                fx, fy = self.fx, self.fy
                gix = (g * ((v10 - v00) * (1 - fy) + (v11 - v01) * fy)).sum(axis=1)
                giy = (g * ((v01 - v00) * (1 - fx) + (v11 - v10) * fx)).sum(axis=1)
                ggrid[..., 0] = (gix.reshape(n, -1) * self.dix).reshape(ggrid.shape[:3])
                ggrid[..., 1] = (giy.reshape(n, -1) * self.diy).reshape(ggrid.shape[:3])
        return gx, ggrid


def _check_grid_sample(x, grid, mode, padding_mode):
    if mode not in MODES:
        hint = " (bicubic is not implemented in gradwork)" if mode == "bicubic" else ""
        raise ConfigError(f"grid_sample: unknown mode {mode!r}{hint}; choose one of {', '.join(MODES)}")
    if padding_mode not in PADDING_MODES:
        raise ConfigError(f"grid_sample: unknown padding_mode {padding_mode!r}; choose one of "
                          f"{', '.join(PADDING_MODES)}")
    if x.ndim != 4:
        raise ShapeError(f"grid_sample: expected input of shape (N, C, H, W), got {x.shape} "
                         "(only 2-D sampling is supported)")
    if grid.ndim != 4 or grid.shape[3] != 2:
        raise ShapeError(f"grid_sample: expected grid of shape (N, H', W', 2) — an (x, y) point per output pixel — "
                         f"got {grid.shape}")
    if grid.shape[0] != x.shape[0]:
        raise ShapeError(f"grid_sample: input holds {x.shape[0]} images but grid holds {grid.shape[0]} grids "
                         f"(shapes {x.shape} and {grid.shape}); they must match")
    if x.dtype.kind != "f" or grid.dtype != x.dtype:
        raise TypeError(f"grid_sample: input and grid must have the same floating-point dtype, got {x.dtype} and "
                        f"{grid.dtype}; convert one (.float() or .double())")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """Read ``input`` (N, C, H, W) at the points ``grid`` (N, H', W', 2) → (N, C, H', W'), PyTorch's
    ``F.grid_sample``.

    grid[n, h, w] = (x, y) in normalised coordinates (the module docstring gives the pixel each
    means for either ``align_corners``). ``mode``: 'bilinear' (the four surrounding pixels,
    weighted by closeness) or 'nearest' (the closest pixel, halves rounded to even).
    ``padding_mode`` — what a point outside the image reads: 'zeros', 'border' (the nearest edge
    pixel) or 'reflection' (the image mirrored at its borders).
    Differentiable w.r.t. the input and (bilinear) the grid.
    """
    x, grid = as_tensor(input), as_tensor(grid)
    _check_grid_sample(x, grid, mode, padding_mode)
    return GridSample(mode, padding_mode, bool(align_corners))(x, grid)
