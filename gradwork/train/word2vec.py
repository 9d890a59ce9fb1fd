"""Training word2vec: each epoch draws fresh (input, target) examples from the corpus — frequent
words subsampled, window sizes random — with k noise words each, and takes optimiser steps on
mini-batches of them."""
import math

from gradwork import backend
from gradwork.backend import xp
from gradwork.data.text import NegativeSampler, cbow_windows, skipgram_pairs, subsample_frequent
from gradwork.train.callbacks import FitState
from gradwork.train.history import History
from gradwork.train.loop import with_default_callbacks


def fit_word2vec(model, ids, counts, *, optimizer, epochs, window=5, negatives=5, batch_size=1024,
                 subsample=1e-4, scheduler=None, callbacks=(), verbose=1):
    """Train a ``Word2Vec`` model on the corpus ``ids`` (word ids, in order), whose vocabulary has word
    counts ``counts``; returns a :class:`History` of the mean loss per epoch."""
    if window < 1 or negatives < 1 or batch_size < 1:
        raise ValueError(f"fit_word2vec: window, negatives and batch_size must be positive, "
                         f"got {window}, {negatives}, {batch_size}")
    counts = xp.asarray(counts)
    sampler = NegativeSampler(counts)
    history = History()
    callbacks = with_default_callbacks(callbacks, verbose)
    rng = backend.rng()
    state = FitState(model, optimizer, history, epochs, 0)
    for c in callbacks:
        c.on_train_begin(state)
    for epoch in range(epochs):
        kept = subsample_frequent(ids, counts, subsample, rng)
        if model.mode == "skipgram":
            inputs, targets = skipgram_pairs(kept, window, rng)
        else:
            inputs, targets = cbow_windows(kept, window, rng)
        order = rng.permutation(len(targets))
        state.epoch, state.steps_per_epoch = epoch, math.ceil(len(order) / batch_size)
        model.train()
        for c in callbacks:
            c.on_epoch_begin(state)
        total, seen = 0.0, 0
        for step, start in enumerate(range(0, len(order), batch_size)):
            state.step = step
            batch = order[start:start + batch_size]
            noise = sampler.sample((len(batch), negatives), rng)
            optimizer.zero_grad()
            loss = model(inputs[batch], targets[batch], noise)
            loss.backward()
            optimizer.step()
            value = loss.item()
            total, seen = total + value * len(batch), seen + len(batch)
            logs = {"batch_loss": value, "loss": total / seen}
            for c in callbacks:
                c.on_batch_end(state, logs)
            if state.stop_training:
                break
        epoch_logs = {"loss": total / max(seen, 1), "lr": optimizer.param_groups[0]["lr"]}
        history.append(epoch, epoch_logs)
        if scheduler is not None:
            scheduler.step()
        for c in callbacks:
            c.on_epoch_end(state, epoch_logs)
        if state.stop_training:
            break
    for c in callbacks:
        c.on_train_end(state)
    history.stop_reason, history.diverged = state.stop_reason, state.diverged
    return history
