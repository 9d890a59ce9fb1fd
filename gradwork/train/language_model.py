"""Training a language model with truncated back-propagation through time (TBPTT).

One epoch reads the training text once, as ``SequenceBatches`` chunks of ``seq_len`` characters in
order. The recurrent state is carried from one chunk to the next — so the model sees the whole
text as one sequence — but detached at every chunk boundary, so each backward pass runs through
``seq_len`` steps only::

    for x, y in chunks:
        state = detach(state)                      # truncate: no gradient into the previous chunk
        logits, state = model(x, state)
        loss = cross_entropy(logits, y)            # mean over the chunk's characters, in nats
        loss.backward()
        clip_grad_norm_(parameters, max_norm)      # the course's cure for exploding gradients
        optimizer.step()

Reported per epoch: loss (nats per character), bits per character = loss / ln 2, perplexity = e^loss,
for the training chunks and for held-out text.
"""
import math

from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.data.text import SequenceBatches
from gradwork.ops.losses import cross_entropy
from gradwork.train.epochs import CallbackRunner, optimization_step, train_epochs


def detach_state(state):
    """The carried state without its graph: a tensor, a tuple of them (LSTM) or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _chunk_loss(model, x, y, state):
    logits, state = model(Tensor(x), state)
    vocab = logits.shape[-1]
    return cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)), state


def language_model_scores(loss):
    """{"bpc": bits per character, "perplexity": e^loss} from a loss in nats."""
    return {"bpc": loss / math.log(2), "perplexity": math.exp(min(loss, 700.0))}


def evaluate_language_model(model, ids, batch_size=32, seq_len=128):
    """Mean cross-entropy (nats per character) of ``model`` on ``ids``, read in order with the state
    carried along, plus bits per character and perplexity. Eval mode, no graph."""
    batches = SequenceBatches(ids, batch_size, seq_len)
    total, count, state = 0.0, 0, None
    with model.evaluating():
        for x, y in batches:
            loss, state = _chunk_loss(model, x, y, state)
            total += loss.item() * y.size
            count += y.size
    loss = total / count
    return {"loss": loss, **language_model_scores(loss)}


def fit_language_model(model, train_ids, *, optimizer, epochs, val_ids=None, batch_size=32, seq_len=64,
                       clip_grad_norm=5.0, scheduler=None, callbacks=(), verbose=1, initial_epoch=0, history=None,
                       on_divergence="warn"):
    """Train ``model`` (ids (B, T), state → logits (B, T, V), state) on the id sequence ``train_ids``
    with truncated BPTT, and return a :class:`History` with loss, bpc and perplexity per epoch
    (and val_loss, val_bpc, val_perplexity on ``val_ids``). ``on_divergence`` as in ``fit``."""
    batches = SequenceBatches(train_ids, batch_size, seq_len)
    run = CallbackRunner(callbacks, verbose, model, optimizer, epochs, len(batches), history)

    def train_epoch(epoch):
        carried, total, count = None, 0.0, 0
        for step, (x, y) in enumerate(batches):
            optimizer.zero_grad()
            # The state flows on from the last chunk, but the gradient stops at the chunk boundary.
            loss, carried = _chunk_loss(model, x, y, detach_state(carried))
            optimization_step(model, optimizer, loss, clip_grad_norm)
            value = loss.item()
            total += value * y.size
            count += y.size
            if run.batch_end(step, {"batch_loss": value, "loss": total / count, "bpc": total / count / math.log(2)}):
                break
        return {"loss": total / count, **language_model_scores(total / count)}

    def validate():
        return evaluate_language_model(model, val_ids, batch_size, max(seq_len, 128))

    return train_epochs(run, epochs=epochs, initial_epoch=initial_epoch, train_epoch=train_epoch,
                        validate=validate if val_ids is not None else None, scheduler=scheduler,
                        on_divergence=on_divergence)


def unigram_bpc(train_ids, test_ids, vocab_size):
    """Bits per character of the unigram baseline: every character predicted with its training
    frequency (add-one smoothed), ignoring context. A language model must do clearly better."""
    counts = xp.bincount(train_ids, minlength=vocab_size) + 1.0
    p = counts / counts.sum()
    return float(-xp.log2(p[test_ids]).mean())
