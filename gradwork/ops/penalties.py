"""Weight penalties added to a loss for regularisation."""
from gradwork.ops import reductions
from gradwork.ops.elementwise import abs as abs_


def l1_penalty(params):
    """Σ |w| over all given tensors (L1 regularisation; multiply by λ yourself)."""
    total = 0
    for p in params:
        total = total + reductions.sum(abs_(p))
    return total


def l2_penalty(params):
    """Σ w² over all given tensors, the squared Frobenius norm ‖W‖²_F (L2 regularisation,
    "weight decay"). The course's term is λ/(2m)·‖W‖²: multiply by that yourself."""
    total = 0
    for p in params:
        total = total + reductions.sum(p * p)
    return total
