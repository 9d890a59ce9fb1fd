"""Convolution as its definition, one multiply-add at a time: the ground truth of the ground truth.

    out[n, o, h, w] = b[o] + Σ_c Σ_i Σ_j W[o, c, i, j] · x_pad[n, g·C_g + c, s·h + d·i, s·w + d·j]

with g = o // (O / groups) the group of output channel o and C_g = C / groups its input channels.
Seven nested Python loops: far too slow to train with (minutes for one MNIST batch), and exactly
what the formula says. ``gradwork.ops.conv`` (im2col, one matrix product) is tested against it, and
the fast kernels are tested against ``gradwork.ops.conv``.
"""
import numpy as np

from gradwork.ops.conv import as_pair, output_size


def conv2d_by_loops(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The convolution of arrays x (N, C, H, W) and weight (O, C/groups, kh, kw), plus bias (O,) if
    given, computed element by element in float64. Returns (N, O, H', W')."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n, c, h, w = x.shape
    o, c_group, kh, kw = weight.shape
    padded = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_h, out_w = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    out = np.zeros((n, o, out_h, out_w))
    outputs_per_group = o // groups
    for image in range(n):
        for channel_out in range(o):
            group = channel_out // outputs_per_group
            for row in range(out_h):
                for column in range(out_w):
                    total = 0.0 if bias is None else float(bias[channel_out])
                    for channel in range(c_group):
                        for i in range(kh):
                            for j in range(kw):
                                total += (weight[channel_out, channel, i, j]
                                          * padded[image, group * c_group + channel, row * sh + i * dh, column * sw + j * dw])
                    out[image, channel_out, row, column] = total
    return out
