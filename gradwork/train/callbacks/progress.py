"""``ProgressBar``: a tqdm bar per epoch with the running loss and metrics; plain lines when the
output is not a terminal (logs, CI), nothing with ``verbose=0``."""
import sys
import time

from tqdm.auto import tqdm

from gradwork.train.callbacks.base import Callback


def format_logs(logs):
    return " - ".join(f"{k} {v:.4f}" if k != "lr" else f"lr {v:.3g}" for k, v in logs.items() if k != "batch_loss")


class ProgressBar(Callback):
    def __init__(self, verbose=1, stream=None):
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.bar = None

    def _interactive(self):
        return self.verbose == 1 and hasattr(self.stream, "isatty") and self.stream.isatty()

    def on_epoch_begin(self, state):
        self.start = time.perf_counter()
        if self._interactive():
            self.bar = tqdm(total=state.steps_per_epoch, desc=f"Epoch {state.epoch + 1}/{state.epochs}",
                            unit="batch", file=self.stream, leave=True, dynamic_ncols=True)

    def on_batch_end(self, state, logs):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_logs(logs), refresh=False)

    def on_epoch_end(self, state, logs):
        seconds = time.perf_counter() - self.start
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.verbose:
            print(f"Epoch {state.epoch + 1}/{state.epochs} - {format_logs(logs)} - {seconds:.2f}s",
                  file=self.stream, flush=True)

    def on_train_end(self, state):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
