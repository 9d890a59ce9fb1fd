"""``ProgressBar``: a tqdm bar during each epoch, then one summary line per epoch that fits an
80-column terminal; when the output is not a terminal (a log file, CI), a plain progress line every
few seconds instead of the bar, so a long epoch never means minutes of silence."""
import sys
import time

from tqdm.auto import tqdm

from gradwork.train.callbacks.base import Callback

#: The width the summary line keeps within (a standard terminal).
WIDTH = 80

#: Short names for the summary line: "val loss 0.1523 acc 0.9612" instead of "val_accuracy 0.9612".
SHORT_NAMES = {"accuracy": "acc", "perplexity": "ppl", "batch_loss": "batch"}


def short_name(key):
    for long, short in SHORT_NAMES.items():
        key = key.replace(long, short)
    return key.replace("top_", "top").replace("_acc", "")


def format_logs(logs):
    """``loss 0.1234 acc 0.9612 | val loss 0.1500 acc 0.9500 | lr 0.001``: training values, then
    validation values, then the learning rate."""
    train = [f"{short_name(k)} {v:.4f}" for k, v in logs.items() if k not in ("lr", "batch_loss")
             and not k.startswith("val_")]
    val = [f"{short_name(k[4:])} {v:.4f}" for k, v in logs.items() if k.startswith("val_")]
    parts = [" ".join(train)]
    if val:
        parts.append("val " + " ".join(val))
    if "lr" in logs:
        parts.append(f"lr {logs['lr']:.3g}")
    return " | ".join(parts)


class ProgressBar(Callback):
    """Progress of training. ``verbose=1``: a bar per epoch on a terminal, a line every
    ``log_every`` seconds otherwise, and a summary line per epoch; ``verbose=2``: the summary line only.

    Args:
        stream: where to write (standard error by default).
        log_every: seconds between progress lines when the stream is not a terminal.
        clock: the time source (a test can pass a fake one).
    """

    def __init__(self, verbose=1, stream=None, log_every=10.0, clock=time.perf_counter):
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.log_every = log_every
        self.clock = clock
        self.bar = None

    def _interactive(self):
        return self.verbose == 1 and hasattr(self.stream, "isatty") and self.stream.isatty()

    def _epoch_label(self, state):
        return f"epoch {state.epoch + 1}/{state.epochs}"

    def on_epoch_begin(self, state):
        self.start = self.last_line = self.clock()
        if self._interactive():
            self.bar = tqdm(total=state.steps_per_epoch, desc=self._epoch_label(state), unit="batch",
                            file=self.stream, leave=False, dynamic_ncols=True)

    def on_batch_end(self, state, logs):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
        elif self.verbose == 1 and self.clock() - self.last_line >= self.log_every:
            self.last_line = self.clock()
            done, total = state.step + 1, state.steps_per_epoch
            share = f" {100 * done / total:3.0f}%" if total else ""
            print(f"{self._epoch_label(state)}{share} ({done}/{total or '?'} batches) {format_logs(logs)} "
                  f"{self.last_line - self.start:.0f}s", file=self.stream, flush=True)

    def on_epoch_end(self, state, logs):
        seconds = self.clock() - self.start
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose:
            line = f"{self._epoch_label(state)} {format_logs(logs)} {seconds:.1f}s"
            if len(line) > WIDTH:  # too many values for one line: the validation half goes below
                head, _, tail = line.partition(" | val ")
                line = head + "\n" + " " * 4 + "val " + tail
            print(line, file=self.stream, flush=True)

    def on_train_end(self, state):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
