"""Moving a tensor to another device, differentiably: ``x.to("cuda")``.

The gradient of a copy is the gradient itself, carried back to where the input lives:

    forward:   y = x copied to the device        backward:  dx = dy copied back to x's device

so a loss computed on the GPU reaches a leaf created on the CPU, as in PyTorch.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import Device, device_of, to_device as move


class ToDevice(Function):
    """y = x, on ``device``."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = device_of(x)
        return move(x, self.device)

    def backward(self, gy):
        return move(gy, self.source)


def to_device(x, device):
    """``x`` on ``device`` (a name such as ``"cuda"`` or a :class:`~gradwork.backend.Device`); ``x`` itself
    when it is already there."""
    x = as_tensor(x)
    device = Device(device)
    if x.device == device:
        return x
    return ToDevice(device)(x)
