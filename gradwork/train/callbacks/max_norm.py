"""``MaxNorm``: keep every unit's incoming weight vector within a norm, after every optimiser step."""
from gradwork.nn.max_norm import check_max_value, max_norm_
from gradwork.train.callbacks.base import Callback


class MaxNorm(Callback):
    """Apply the max-norm constraint ``nn.utils.max_norm_(model, max_value, dim)`` after every step::

        w ← w · min(1, c / ‖w‖₂)    for each unit's incoming weights w

    The training loops call ``on_batch_end`` right after ``optimizer.step()``, so no forward pass ever
    sees weights outside the ball. Biases are untouched. Usually paired with dropout and a large
    learning rate (Srivastava et al. 2014 use c between 3 and 4).

    Args:
        max_value: the largest allowed norm c.
        dim: the units' axis (see :func:`gradwork.nn.utils.max_norm_`; None: each layer's output axis).
        parameters: constrain only these (e.g. the hidden layers' weights); default: the whole model.
    """

    def __init__(self, max_value, dim=None, parameters=None):
        check_max_value(max_value)  # now, not at the first step
        self.max_value, self.dim = max_value, dim
        self.parameters = list(parameters) if parameters is not None else None

    def on_batch_end(self, state, logs):
        target = self.parameters if self.parameters is not None else state.model
        max_norm_(target, self.max_value, self.dim)
