"""Training word2vec: each epoch draws fresh (input, target) examples from the corpus — frequent
words subsampled, window sizes random — with k noise words each, and takes optimiser steps on
mini-batches of them."""
import math

from gradwork import backend
from gradwork.backend import xp
from gradwork.data.text import NegativeSampler, cbow_windows, skipgram_pairs, subsample_frequent
from gradwork.train.loop import CallbackRunner, optimization_step


def fit_word2vec(model, ids, counts, *, optimizer, epochs, window=5, negatives=5, batch_size=1024,
                 subsample=1e-4, scheduler=None, callbacks=(), verbose=1):
    """Train a ``Word2Vec`` model on the corpus ``ids`` (word ids, in order), whose vocabulary has word
    counts ``counts``; returns a :class:`History` of the mean loss per epoch."""
    if window < 1 or negatives < 1 or batch_size < 1:
        raise ValueError(f"fit_word2vec: window, negatives and batch_size must be positive, "
                         f"got {window}, {negatives}, {batch_size}")
    counts = xp.asarray(counts)
    sampler = NegativeSampler(counts)
    rng = backend.rng()
    run = CallbackRunner(callbacks, verbose, model, optimizer, epochs)
    for epoch in range(epochs):
        kept = subsample_frequent(ids, counts, subsample, rng)
        if model.mode == "skipgram":
            inputs, targets = skipgram_pairs(kept, window, rng)
        else:
            inputs, targets = cbow_windows(kept, window, rng)
        order = rng.permutation(len(targets))
        run.epoch_begin(epoch, steps_per_epoch=math.ceil(len(order) / batch_size))
        total, seen = 0.0, 0
        for step, start in enumerate(range(0, len(order), batch_size)):
            batch = order[start:start + batch_size]
            noise = sampler.sample((len(batch), negatives), rng)
            optimizer.zero_grad()
            loss = model(inputs[batch], targets[batch], noise)
            optimization_step(model, optimizer, loss)
            value = loss.item()
            total, seen = total + value * len(batch), seen + len(batch)
            if run.batch_end(step, {"batch_loss": value, "loss": total / seen}):
                break
        if run.epoch_end(epoch, {"loss": total / max(seen, 1)}, scheduler):
            break
    return run.end()
