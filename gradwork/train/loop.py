"""``fit`` and ``evaluate``: the training loop, written out so every line can be read.

One epoch of ``fit`` is the loop every course draws::

    for x, y in batches:
        optimizer.zero_grad()          # forget the last step's gradients
        loss = loss_fn(model(x), y)    # forward pass, recording the graph
        loss.backward()                # backward pass: d loss / d every parameter
        optimizer.step()               # update the parameters in place

followed by an evaluation on the validation data (eval mode, no graph), the schedule and the
callbacks, in the epoch loop that all training functions share (:mod:`gradwork.train.epochs`).
"""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.backend.device import Device, to_device, to_host
from gradwork.data.dataloader import DataLoader
from gradwork.data.dataset import ArrayDataset, Dataset
from gradwork.distributed.data_parallel import DataParallelRun
from gradwork.errors import ConfigError
from gradwork.ops import losses
from gradwork.optim.clip_grad import clip_grad_norm_
from gradwork.train.epochs import CallbackRunner, check_divergence_action, train_epochs
from gradwork.train.metrics import get_metric

LOSSES = {
    "cross_entropy": losses.cross_entropy,
    "token_cross_entropy": losses.token_cross_entropy,
    "nll": losses.nll_loss,
    "mse": losses.mse_loss,
    "bce": losses.binary_cross_entropy,
    "bce_with_logits": losses.binary_cross_entropy_with_logits,
}


def _loader(data, batch_size, shuffle, what):
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple) and not isinstance(data, Dataset):
        data = ArrayDataset(*data)
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(f"{what} must be a DataLoader, a Dataset or a tuple of arrays (x, y); "
                        f"got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError(f"{what} is empty: there are no examples to train or evaluate on")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def _loss_function(loss):
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    raise ConfigError(f"unknown loss {loss!r}; pass a function or module, or one of {sorted(LOSSES)}")


def _split(batch, device):
    """A batch is (inputs, target): the last array is the target, the others feed the model. Both go to
    the model's ``device`` (where they already are when the loader put them there)."""
    if len(batch) < 2:
        raise ValueError("each batch needs inputs and targets, e.g. a dataset of (x, y) pairs")
    if device.type == "cpu":
        return [Tensor(a) for a in batch[:-1]], batch[-1]
    return [Tensor(to_device(a, device)) for a in batch[:-1]], to_device(batch[-1], device)


def model_device(model):
    """Where the model's parameters are (the CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return Device("cpu")


def fit(model, train_data, *, loss, optimizer, epochs, val_data=None, metrics=("accuracy",), scheduler=None,
        callbacks=(), verbose=1, batch_size=32, shuffle=True, clip_grad_norm=None, initial_epoch=0, history=None,
        on_divergence="warn", distributed=False):
    """Train ``model`` and return a :class:`History` of per-epoch losses and metrics.

    Args:
        train_data, val_data: a ``DataLoader``, a ``Dataset`` or a tuple of arrays ``(x, y)``.
        loss: a function or module ``loss(output, target)``, or a name ("cross_entropy", "mse", …).
        optimizer: an ``optim.Optimizer`` over the model's parameters.
        epochs: train until this many epochs have been done in total (counting ``initial_epoch``).
        metrics: names or functions ``metric(output, target) -> float``, averaged over each epoch.
        scheduler: a learning-rate schedule, stepped after every epoch with the validation loss
            (the training loss without validation data), which only ``ReduceLROnPlateau`` uses.
        callbacks: ``Callback`` objects; a progress bar (``verbose``) and a ``NaNGuard`` are added.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        clip_grad_norm: if set, rescale gradients to this global norm before each step.
        initial_epoch, history: to continue an earlier run (``History`` to append to).
        on_divergence: when the loss becomes NaN or infinite, training stops and the history says why;
            "warn" (default) also warns, "raise" raises ``TrainingDivergedError``, "stop" does nothing more.
        distributed: train as one rank of an MPI job (``mpiexec -n N``, see :mod:`gradwork.distributed`):
            each rank takes its shard of every epoch in batches of ``batch_size`` (a step's global batch is
            N × batch_size), gradients are averaged over the ranks after backward, the logged losses and
            metrics are those of all ranks, and only rank 0 shows progress. Give callbacks that write files
            on rank 0 only.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    check_divergence_action(on_divergence)
    train_loader = _loader(train_data, batch_size, shuffle, "train_data")
    val_loader = _loader(val_data, max(batch_size, 256), False, "val_data") if val_data is not None else None
    loss_fn = _loss_function(loss)
    metric_fns = [get_metric(m) for m in metrics]
    parallel = DataParallelRun(model, train_loader, val_loader) if distributed else None
    if parallel is not None:  # this rank's shards of the data; progress on rank 0 only
        train_loader, val_loader = parallel.train_loader, parallel.val_loader
        verbose = verbose if parallel.is_main else 0
    run = CallbackRunner(callbacks, verbose, model, optimizer, epochs, len(train_loader), history)

    def train_epoch(epoch):
        if parallel is not None:
            parallel.set_epoch(epoch)              # this epoch's shuffle, shared out among the ranks
        seen, loss_sum = 0, 0.0
        metric_sums = [0.0] * len(metric_fns)
        device = model_device(model)
        for step, batch in enumerate(train_loader):
            inputs, target = _split(batch, device)
            optimizer.zero_grad()                  # forget the last step's gradients
            output = model(*inputs)                # forward pass, recording the graph
            batch_loss = loss_fn(output, target)
            batch_loss.backward()                  # d loss / d every parameter
            if parallel is not None:
                parallel.average_gradients()       # the mean gradient over all ranks' examples
            if clip_grad_norm is not None:
                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()                       # update the parameters in place

            n, value = len(target), batch_loss.item()
            step_metrics = [fn(output.data, target) for _, fn in metric_fns]
            if parallel is not None:  # the whole step's numbers, the same on every rank
                n, value, step_metrics = parallel.global_batch(n, value, step_metrics)
            seen += n
            loss_sum += value * n
            logs = {"batch_loss": value, "loss": loss_sum / seen}
            for i, (name, _) in enumerate(metric_fns):
                metric_sums[i] += step_metrics[i] * n
                logs[name] = metric_sums[i] / seen
            if run.batch_end(step, logs):
                break
        if parallel is not None:
            parallel.end_epoch()                   # one set of BatchNorm running statistics
        return {k: v for k, v in logs.items() if k != "batch_loss"}

    def validate():
        results = evaluate(model, val_loader, loss=loss_fn, metrics=[m for m, _ in metric_fns])
        return parallel.mean_over_ranks(results) if parallel is not None else results

    return train_epochs(run, epochs=epochs, initial_epoch=initial_epoch, train_epoch=train_epoch,
                        validate=validate if val_loader is not None else None, scheduler=scheduler,
                        on_divergence=on_divergence)


def evaluate(model, data, loss=None, metrics=("accuracy",), batch_size=256):
    """Average ``loss`` (if given) and ``metrics`` over ``data``, in eval mode and without a graph.

    Returns a dict such as ``{"loss": 0.08, "accuracy": 0.975}``. The model's mode is restored after.
    """
    loader = _loader(data, batch_size, False, "data")
    loss_fn = _loss_function(loss) if loss is not None else None
    metric_fns = [get_metric(m) for m in metrics]
    seen, loss_sum = 0, 0.0
    metric_sums = [0.0] * len(metric_fns)
    device = model_device(model)
    with model.evaluating():
        for batch in loader:
            inputs, target = _split(batch, device)
            output = model(*inputs)
            n = len(target)
            seen += n
            if loss_fn is not None:
                loss_sum += loss_fn(output, target).item() * n
            for i, (_, fn) in enumerate(metric_fns):
                metric_sums[i] += fn(output.data, target) * n
    results = {"loss": loss_sum / seen} if loss_fn is not None else {}
    results.update({name: s / seen for (name, _), s in zip(metric_fns, metric_sums)})
    return results


def predict(model, x, batch_size=256):
    """Model outputs for inputs ``x`` (an array), in eval mode and without a graph, as an array."""
    device = model_device(model)
    with model.evaluating():
        outputs = [to_host(model(Tensor(to_device(x[i:i + batch_size], device))).data)
                   for i in range(0, len(x), batch_size)]
    return xp.concatenate(outputs) if outputs else xp.zeros((0,))
