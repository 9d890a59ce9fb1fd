"""What a person watching training sees: a summary line per epoch that fits 80 columns, and progress
lines every few seconds when the output is a log file rather than a terminal."""
import io

import numpy as np

from gradwork import nn, optim, train
from gradwork.train.callbacks import FitState
from gradwork.train.callbacks.progress import ProgressBar, format_logs


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def epoch_state(steps=100):
    return FitState(model=None, optimizer=None, history=None, epochs=30, steps_per_epoch=steps, epoch=11)


def test_the_epoch_summary_fits_80_columns_and_shows_validation_results():
    logs = {"loss": 0.12345, "accuracy": 0.96123, "top_3_accuracy": 0.99, "val_loss": 0.15,
            "val_accuracy": 0.95, "val_top_3_accuracy": 0.991, "lr": 0.001}
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(verbose=2, stream=stream, clock=clock)
    state = epoch_state()
    bar.on_epoch_begin(state)
    clock.now = 2.31
    bar.on_epoch_end(state, logs)
    text = stream.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "val loss 0.1500 acc 0.9500" in text and "epoch 12/30" in text and "lr 0.001" in text


def test_long_summaries_put_the_validation_half_on_a_second_line():
    logs = {"loss": 1.6543, "bpc": 2.3866, "perplexity": 5.2314, "val_loss": 1.7, "val_bpc": 2.45,
            "val_perplexity": 5.47, "lr": 0.002}
    stream = io.StringIO()
    bar = ProgressBar(verbose=2, stream=stream, clock=FakeClock())
    bar.on_epoch_begin(epoch_state())
    bar.on_epoch_end(epoch_state(), logs)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all(len(line) <= 80 for line in lines) and "val loss 1.7000" in lines[1]


def test_a_log_file_gets_a_progress_line_every_few_seconds():
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(verbose=1, stream=stream, log_every=10.0, clock=clock)
    state = epoch_state(steps=100)
    bar.on_epoch_begin(state)
    for step in range(100):
        clock.now = step * 0.5          # 50 s of training in 100 steps
        state.step = step
        bar.on_batch_end(state, {"batch_loss": 1.0, "loss": 1.0, "accuracy": 0.5})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4              # at 10, 20, 30 and 40 s
    assert lines[0].startswith("epoch 12/30  21% (21/100 batches) loss 1.0000 acc 0.5000")


def test_fit_writes_one_summary_line_per_epoch_to_a_non_terminal(capsys):
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Linear(4, 2)
    train.fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=3,
              val_data=(x, y), verbose=1)
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 3 and all(line.startswith(f"epoch {i + 1}/3 loss ") for i, line in enumerate(lines))
    assert "| val loss" in lines[0]


def test_format_logs_orders_training_validation_and_rate():
    assert format_logs({"loss": 1.0, "val_loss": 2.0, "lr": 0.1, "accuracy": 0.5}) == \
        "loss 1.0000 acc 0.5000 | val loss 2.0000 | lr 0.1"
