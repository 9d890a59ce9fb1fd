"""Training word2vec: each epoch draws fresh (input, target) examples from the corpus — frequent
words subsampled, window sizes random — with k noise words each, and takes optimiser steps on
mini-batches of them."""
import math

from gradwork import backend
from gradwork.backend import xp
from gradwork.data.text import NegativeSampler, cbow_windows, skipgram_pairs, subsample_frequent
from gradwork.errors import ConfigError
from gradwork.train.epochs import CallbackRunner, optimization_step, train_epochs

#: word2vec's C code lets its rate fall linearly to this fraction of the first one, and no lower.
MIN_LR_FRACTION = 1e-4


def fit_word2vec(model, ids, counts, *, optimizer, epochs, window=5, negatives=5, batch_size=1024,
                 subsample=1e-4, linear_decay=False, scheduler=None, callbacks=(), verbose=1,
                 on_divergence="warn"):
    """Train a ``Word2Vec`` model on the corpus ``ids`` (word ids, in order), whose vocabulary has word
    counts ``counts``; returns a :class:`History` of the mean loss per epoch.

    ``linear_decay=True`` is the original word2vec's schedule: before every step the learning rate is
    lr₀ · max(1 − progress, 1e-4), where progress goes from 0 to 1 over all the steps of all the epochs
    (word2vec counts words, this counts batches). With ``optim.SGD`` on a ``Word2Vec(sparse=True)``
    that is word2vec's own training, a batch at a time. (An epoch-wise ``scheduler`` is the other way
    to change the rate; use one or the other.)

    The rate is for the batch's mean loss, so word2vec's per-example rate α is lr = α·batch_size; and
    a batch adds up every use of a row before the step, where word2vec moves the row after each use,
    so a frequent word takes one large step instead of many small ones. On the Jargon File (batch
    1024) SGD learned well with lr 150–300 and diverged at 400 (``bench/word2vec.py``); on a corpus of
    a dozen words, at 10. ``SparseAdam`` (lr ≈ 0.003) needs no such tuning.
    """
    if window < 1 or negatives < 1 or batch_size < 1:
        raise ValueError(f"fit_word2vec: window, negatives and batch_size must be positive, "
                         f"got {window}, {negatives}, {batch_size}")
    if linear_decay and scheduler is not None:
        raise ConfigError("fit_word2vec: linear_decay=True sets the learning rate at every step; "
                          "pass a scheduler or linear_decay, not both")
    counts = xp.asarray(counts)
    sampler = NegativeSampler(counts)
    rng = backend.rng()
    run = CallbackRunner(callbacks, verbose, model, optimizer, epochs)
    examples = {}
    first_lrs = [group["lr"] for group in optimizer.param_groups]

    def prepare_epoch(epoch):
        """Draw this epoch's examples; returns the number of steps."""
        kept = subsample_frequent(ids, counts, subsample, rng)
        if model.mode == "skipgram":
            examples["inputs"], examples["targets"] = skipgram_pairs(kept, window, rng)
        else:
            examples["inputs"], examples["targets"] = cbow_windows(kept, window, rng)
        examples["order"] = rng.permutation(len(examples["targets"]))
        return math.ceil(len(examples["order"]) / batch_size)

    def train_epoch(epoch):
        inputs, targets, order = examples["inputs"], examples["targets"], examples["order"]
        total, seen = 0.0, 0
        steps = math.ceil(len(order) / batch_size)
        for step, start in enumerate(range(0, len(order), batch_size)):
            if linear_decay:
                progress = (epoch + step / steps) / epochs
                for group, lr in zip(optimizer.param_groups, first_lrs):
                    group["lr"] = lr * max(1 - progress, MIN_LR_FRACTION)
            batch = order[start:start + batch_size]
            noise = sampler.sample((len(batch), negatives), rng)
            optimizer.zero_grad()
            loss = model(inputs[batch], targets[batch], noise)
            optimization_step(model, optimizer, loss)
            value = loss.item()
            total, seen = total + value * len(batch), seen + len(batch)
            if run.batch_end(step, {"batch_loss": value, "loss": total / seen}):
                break
        return {"loss": total / max(seen, 1)}

    return train_epochs(run, epochs=epochs, train_epoch=train_epoch, prepare_epoch=prepare_epoch,
                        scheduler=scheduler, on_divergence=on_divergence)
