"""Model ensembles (CS231n): train several networks independently, average their predictions.

Each member makes different mistakes (a different random initialisation is enough to land in a
different minimum); averaging their class probabilities cancels part of those mistakes, and the
ensemble's test accuracy is usually a point or two above its average member's::

    p(k | x) = (1/M) Σ_m softmax(f_m(x))_k
"""
import math

from gradwork.autograd.tensor import as_tensor
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn.containers import ModuleList
from gradwork.nn.module import Module
from gradwork.ops.activations import log_softmax
from gradwork.ops.elementwise import exp
from gradwork.ops.reductions import logsumexp
from gradwork.ops.shape import stack


class Ensemble(Module):
    """Average the class probabilities of ``models``, each mapping inputs to logits (N, C).

    ``forward(*inputs)`` returns the **log** of the mean probability, (N, C)::

        log p(k | x) = logsumexp_m(log_softmax(f_m(x))_k) − log M

    Why the log: the rest of gradwork reads a classifier's output as logits. These are logits whose
    softmax is exactly the mean probability (they already sum to one after exp, so log_softmax leaves
    them unchanged), hence ``train.evaluate(ensemble, data, loss="cross_entropy")`` gives the ensemble's
    own cross-entropy, ``nll`` gives the same, and accuracy (an argmax) picks the class of highest mean
    probability. Working in logs (logsumexp) also keeps probabilities near 0 exact.
    ``predict_proba(*inputs)`` gives the probabilities themselves.

    Train the members on their own (each with its own loss and optimiser), then wrap them: training
    the ensemble as one module would optimise the averaged prediction, which couples the members.
    Members are kept in ``models`` (a ``ModuleList``); ``train()`` and ``eval()`` reach all of them.
    """

    def __init__(self, models):
        super().__init__()
        models = list(models)
        if not models:
            raise ConfigError("Ensemble: needs at least one model to average; got an empty list")
        for i, m in enumerate(models):
            if not isinstance(m, Module):
                raise ConfigError(f"Ensemble: member {i} is a {type(m).__name__}, not a gradwork Module")
        self.models = ModuleList(models)

    def forward(self, *inputs):
        logits = [as_tensor(m(*inputs)) for m in self.models]
        shapes = [tuple(z.shape) for z in logits]
        if len(set(shapes)) > 1:
            raise ShapeError(f"Ensemble: every member must output logits of the same shape (N, C), got {shapes}")
        if len(shapes[0]) != 2 or shapes[0][1] < 2:
            raise ShapeError(f"Ensemble: members must output class logits (N, C) with C ≥ 2, got {shapes[0]}; "
                             "for one binary logit, output two (the logit and 0)")
        log_probs = stack([log_softmax(z, axis=1) for z in logits], axis=0)      # (M, N, C)
        return logsumexp(log_probs, dim=0) - math.log(len(logits))               # log of the mean probability

    def predict_proba(self, *inputs):
        """The mean class probabilities (1/M) Σ_m softmax(f_m(x)), (N, C)."""
        return exp(self(*inputs))

    def __len__(self):
        return len(self.models)

    def extra_repr(self):
        return f"{len(self.models)} members"
