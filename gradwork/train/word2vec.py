"""Training word2vec: each epoch draws fresh (input, target) examples from the corpus — frequent
words subsampled, window sizes random — with k noise words each, and takes optimiser steps on
mini-batches of them."""
import math

from gradwork import backend
from gradwork.backend import xp
from gradwork.data.text import NegativeSampler, cbow_windows, skipgram_pairs, subsample_frequent
from gradwork.train.epochs import CallbackRunner, optimization_step, train_epochs


def fit_word2vec(model, ids, counts, *, optimizer, epochs, window=5, negatives=5, batch_size=1024,
                 subsample=1e-4, scheduler=None, callbacks=(), verbose=1, on_divergence="warn"):
    """Train a ``Word2Vec`` model on the corpus ``ids`` (word ids, in order), whose vocabulary has word
    counts ``counts``; returns a :class:`History` of the mean loss per epoch."""
    if window < 1 or negatives < 1 or batch_size < 1:
        raise ValueError(f"fit_word2vec: window, negatives and batch_size must be positive, "
                         f"got {window}, {negatives}, {batch_size}")
    counts = xp.asarray(counts)
    sampler = NegativeSampler(counts)
    rng = backend.rng()
    run = CallbackRunner(callbacks, verbose, model, optimizer, epochs)
    examples = {}

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
        return {"loss": total / max(seen, 1)}

    return train_epochs(run, epochs=epochs, train_epoch=train_epoch, prepare_epoch=prepare_epoch,
                        scheduler=scheduler, on_divergence=on_divergence)
