"""Reverse-mode differentiation: walk the recorded graph from an output back to the leaves.

Two steps, as in the chain rule by hand:

1. Order: a function may run only after every function that used its outputs. Each function's
   ``generation`` is larger than that of the functions that made its inputs, so taking functions
   from a max-heap on generation gives that order — with a loop, not recursion, so a chain of
   100,000 operations is no deeper for Python than a chain of one.
2. Apply: each function turns the gradients of its outputs into gradients of its inputs;
   gradients reaching the same tensor along several paths are added.

Leaves (tensors made by the user, parameters) accumulate into ``.grad``; intermediate gradients
live only in this pass and are dropped as soon as they have been used.

Gradient arrays are never modified in place anywhere in gradwork (``a = a + g``, not ``a += g``):
one array may be handed to several inputs (``x + y`` passes the same gradient to both). For the same
reason a leaf gets its own copy when the array it would receive is already some other leaf's ``.grad``
or a view of another array, so that changing one ``.grad`` in place never changes another. The copy is
laid out in memory like the leaf's own data (as PyTorch's gradients follow their parameter's memory
format): an image batch stored channels-last gets a channels-last ``.grad``, so that adding the next
step's gradient to it, or an update of the image by it, runs along memory.

A leaf's gradient may be a :class:`~gradwork.autograd.sparse.SparseGrad` (from ``embedding(...,
sparse=True)``): it is accumulated like an array — sparse + sparse stays sparse, with a dense one the
sum is dense.
"""
import heapq
import itertools

from gradwork.autograd.sparse import SparseGrad
from gradwork.backend import get_array_module


def run_backward(root, seed, retain_graph=False):
    """Back-propagate ``seed`` (the gradient of the final result w.r.t. ``root``) through the graph."""
    handed_out = set()  # ids of the arrays already given to a leaf as its .grad in this pass
    if root._creator is None:
        _accumulate_leaf(root, seed, handed_out)
        return
    order = itertools.count()  # breaks ties between equal generations, in insertion order
    pending = {root._creator: [None] * len(root._creator.output_meta)}
    pending[root._creator][root._output_index] = seed
    heap = [(-root._creator.generation, next(order), root._creator)]
    while heap:
        _, _, function = heapq.heappop(heap)
        if function.released:
            raise RuntimeError(
                "backward: this part of the graph was already used by an earlier backward() and freed. "
                "Call backward(retain_graph=True) the first time to run backward through it again.")
        grads = pending.pop(function)
        for g in grads:
            if g is None:  # an output that no path reached gets zeros, beside the others
                grads = [g if g is not None else get_array_module(*grads).zeros(shape, dtype)
                         for g, (shape, dtype) in zip(grads, function.output_meta)]
                break
        if function.saved_versions:
            function.check_saved_unchanged()
        if function.retained:
            _keep_retained_grads(function, grads)
        input_grads = function.backward(*grads)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for x, (creator, i), g, needed in zip(function.inputs, function.input_edges, input_grads,
                                              function.needs_input_grad):
            if not needed or g is None:
                continue
            if g.shape != x.data.shape:
                raise RuntimeError(f"{function.name}.backward returned a gradient of shape {g.shape} "
                                   f"for an input of shape {x.shape} (a bug in that operation)")
            if creator is None:
                _accumulate_leaf(x, g, handed_out)
                continue
            slots = pending.get(creator)
            if slots is None:
                slots = pending[creator] = [None] * len(creator.output_meta)
                heapq.heappush(heap, (-creator.generation, next(order), creator))
            slots[i] = g if slots[i] is None else slots[i] + g
        if not retain_graph:
            function.release()


def _accumulate_leaf(leaf, g, handed_out):
    if not leaf.requires_grad:
        return
    if leaf.grad is not None:
        leaf.grad = leaf.grad + g.astype(leaf.dtype, copy=False)
        return
    if g.dtype != leaf.dtype:
        g = g.astype(leaf.dtype)
    elif isinstance(g, SparseGrad):
        pass  # made by the op that returned it, for this leaf only
    elif id(g) in handed_out or g.base is not None:  # another leaf's grad, or a view: own copy, laid out like the leaf
        copy = get_array_module(g).empty_like(leaf.data)
        copy[...] = g
        g = copy
    handed_out.add(id(g))
    leaf.grad = g


def _keep_retained_grads(function, output_grads):
    """Store the gradient of each output that asked for it with ``retain_grad()``."""
    for index, ref in function.retained.items():
        t = ref()
        if t is not None:
            g = output_grads[index]
            t.grad = g.copy() if t.grad is None else t.grad + g
