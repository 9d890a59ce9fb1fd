"""Bias and variance: what the gap between human, training and validation error says to do next.

    avoidable bias = training error − human (≈ Bayes) error     → the model under-fits
    variance       = validation error − training error           → the model over-fits

The course's four cases (human error ≈ 0):   train 1%,  dev 11% → high variance
                                             train 15%, dev 16% → high bias
                                             train 15%, dev 30% → both
                                             train 0.5%, dev 1% → fine
plus the loss-curve checks: a loss that does not fall, a loss that becomes NaN, a loss that explodes
(far above ln(C) at some epoch, even if it comes back down), a first loss far from ln(C) — the loss of
a network that does not know anything yet — and an accuracy at chance level.
A run that fails any of them has not learned: its bias/variance verdict says nothing yet.
"""
import math
from dataclasses import dataclass, field

from gradwork.errors import ConfigError

EXPLODED = 10  # a loss this many times ln(C) (or the first loss) means the updates overshot

REMEDIES = {
    "bias": ["a bigger network (more layers or units)", "train longer or with a better optimiser (Adam, momentum)",
             "a different architecture (architecture search)"],
    "variance": ["more training data (or data augmentation)", "regularisation: L2 / weight decay, dropout",
                 "a different architecture (architecture search)"],
}


@dataclass
class Diagnosis:
    verdict: str                 # "high bias", "high variance", "high bias and high variance", "fine"
    avoidable_bias: float
    variance: float
    remedies: list = field(default_factory=list)

    def __str__(self):
        lines = [f"{self.verdict}: avoidable bias {self.avoidable_bias:.1%} (training error − human error), "
                 f"variance {self.variance:.1%} (validation error − training error)"]
        lines += [f"  try: {r}" for r in self.remedies]
        return "\n".join(lines)


def _error(value, name):
    if value is None or not 0 <= value <= 1:
        raise ConfigError(f"diagnose: {name} is a fraction in [0, 1] (0.11 for 11%), got {value!r}")
    return float(value)


def diagnose(train_error, dev_error, human_error=None, threshold=0.02):
    """The course's bias/variance verdict for errors given as fractions (0.11 = 11%).

    ``human_error`` stands in for the Bayes error (0 when not given); a gap above ``threshold``
    (two percentage points by default) counts as high. Returns a :class:`Diagnosis`.
    """
    train_error, dev_error = _error(train_error, "train_error"), _error(dev_error, "dev_error")
    human = 0.0 if human_error is None else _error(human_error, "human_error")
    bias, variance = train_error - human, dev_error - train_error
    high_bias, high_variance = bias > threshold, variance > threshold
    if high_bias and high_variance:
        verdict = "high bias and high variance"
    elif high_bias:
        verdict = "high bias"
    elif high_variance:
        verdict = "high variance"
    else:
        verdict = "fine"
    remedies = []
    if high_bias:
        remedies += [r for r in REMEDIES["bias"] if r not in remedies]
    if high_variance:
        remedies += [r for r in REMEDIES["variance"] if r not in remedies]
    return Diagnosis(verdict, bias, variance, remedies)


def loss_curve_checks(losses, initial_loss=None, num_classes=None):
    """Warnings (a list of sentences, empty when all is well) from per-epoch training losses and,
    if known, the loss before any training and the number of classes."""
    notes = []
    losses = list(losses)
    if any(not math.isfinite(v) for v in losses) or (initial_loss is not None and not math.isfinite(initial_loss)):
        notes.append("the loss became NaN or infinite: the learning rate is too high (or inputs are not "
                     "normalised); lower it by 10x")
    finite = [v for v in losses if math.isfinite(v)]
    start = [v for v in (initial_loss, math.log(num_classes) if num_classes else None)
             if v is not None and math.isfinite(v)]
    if finite and start and max(finite) > EXPLODED * max(start):
        worst = losses.index(max(finite))
        notes.append(f"the loss exploded to {losses[worst]:.4g} at epoch {worst + 1} (an untrained network starts near "
                     f"{max(start):.4g}): the updates overshoot — the learning rate is too high; lower it by 10x")
    if len(finite) >= 2 and finite[-1] > 0.99 * finite[0]:
        at_chance = num_classes and abs(finite[-1] - math.log(num_classes)) < 0.05 * math.log(num_classes)
        notes.append(f"the loss is not falling ({finite[0]:.4g} → {finite[-1]:.4g})" + (
            f" and sits at ln({num_classes}), chance level: the network gives every input the same answer — "
            f"typically a learning rate so high that the ReLUs died; try 10x lower" if at_chance else
            ": the learning rate may be too low (try 10x higher), or the gradients wrong (run a gradient check)"))
    if initial_loss is not None and num_classes and math.isfinite(initial_loss):
        expected = math.log(num_classes)
        if not 0.5 * expected <= initial_loss <= 2 * expected:
            notes.append(f"the first loss is {initial_loss:.3f}, far from ln({num_classes}) = {expected:.3f} "
                         f"expected of an untrained classifier: check the initialisation (weights too large?) "
                         f"and the loss")
    return notes


def accuracy_checks(accuracy, num_classes, name="training accuracy"):
    """Warnings (a list of sentences) when ``accuracy`` is no better than guessing among ``num_classes``."""
    chance = 1 / num_classes
    if accuracy <= 1.5 * chance:  # a network that learned anything does much better than 1/C on its own data
        return [f"the {name} is {accuracy:.1%}, chance level (1/{num_classes} = {chance:.1%}): the network gives "
                "every input about the same answer and has learned nothing — typically a learning rate so high "
                "that the first steps destroyed it; try 10x lower"]
    return []
