"""``ParameterStatistics``: a callback that records what the parameters do during training — the
update/parameter ratio of every step and, per epoch, samples of each weight and its gradient —
for ``tools.viz.plot_update_ratios`` and ``plot_parameter_histograms``.

The rule of thumb: ‖Δθ‖ / ‖θ‖ per step should be around 1e-3. Much larger, the learning rate is
too high (the weights are rewritten every step); much smaller, it is too low.
"""
from gradwork.backend import xp
from gradwork.train.callbacks.base import Callback

SAMPLE = 20_000  # values kept per parameter and epoch for the histograms


class ParameterStatistics(Callback):
    """Records, every ``every`` steps, ‖θ_after − θ_before‖ / ‖θ_before‖ for each parameter
    (``update_ratios[name]``, with ``steps``), and at each epoch's end a sample of the values and of
    the last gradients of each parameter (``weights[epoch][name]``, ``gradients[epoch][name]``)."""

    def __init__(self, every=1):
        if every < 1:
            raise ValueError(f"ParameterStatistics: every must be a positive number of steps, got {every}")
        self.every = every
        self.steps, self.update_ratios = [], {}
        self.weights, self.gradients = [], []
        self._before, self._count = None, 0

    def _named(self, state):
        return [(n, p) for n, p in state.model.named_parameters() if p.requires_grad]

    def _remember(self, state):
        self._before = {n: p.data.copy() for n, p in self._named(state)}

    def on_train_begin(self, state):
        self._remember(state)

    def on_batch_end(self, state, logs):
        self._count += 1
        if self._before is not None:
            self.steps.append(self._count)
            for name, p in self._named(state):
                before = self._before[name]
                ratio = float(xp.linalg.norm(p.data - before) / max(float(xp.linalg.norm(before)), 1e-12))
                self.update_ratios.setdefault(name, []).append(ratio)
            self._before = None
        if self._count % self.every == self.every - 1 or self.every == 1:
            self._remember(state)  # the next step's update is measured against these values

    def on_epoch_end(self, state, logs):
        rng = xp.random.default_rng(len(self.weights))  # a local generator: training's draws are untouched
        weights, gradients = {}, {}
        for name, p in self._named(state):
            values = p.data.reshape(-1)
            keep = rng.choice(len(values), SAMPLE, replace=False) if len(values) > SAMPLE else slice(None)
            weights[name] = values[keep].copy()
            if p.grad is not None:
                gradients[name] = xp.asarray(p.grad).reshape(-1)[keep].copy()  # a SparseGrad becomes dense
        self.weights.append(weights)
        self.gradients.append(gradients)
