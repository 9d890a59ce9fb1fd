"""Data-parallel training across real MPI ranks: tests/distributed/mpi_script.py under mpiexec.

The central claim: with the same seed, 2 ranks × batch 32 train exactly as 1 process × batch 64
(float64, SGD with momentum and gradient clipping, three epochs with validation).
"""
import time

import numpy as np
import pytest

import gradwork as gw
from gradwork import optim
from tests.distributed import mpi_script
from tests.distributed.helpers import run_script


@pytest.fixture(scope="module")
def two_ranks_and_one(tmp_path_factory):
    folder = tmp_path_factory.mktemp("equivalence")
    for ranks, batch in ((2, 32), (1, 64)):
        done = run_script(ranks, "equivalence", folder / f"{ranks}.npz", batch)
        assert done.returncode == 0, done.stderr
    return np.load(folder / "2.npz"), np.load(folder / "1.npz")


def test_two_ranks_of_32_train_as_one_process_of_64(two_ranks_and_one):
    two, one = two_ranks_and_one
    names = [k for k in two.files if k.startswith("True/") and "/history/" not in k and not k.endswith("spread")]
    assert len(names) == 4  # two Linear layers' weights and biases, trained on shuffled data
    for name in names:
        np.testing.assert_allclose(two[name], one[name], rtol=0, atol=1e-10, err_msg=name)
        assert two[f"{name}/spread"] == 0  # and both ranks hold exactly the same weights
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):  # the logs are the whole step's, the val set's
        np.testing.assert_allclose(two[f"True/history/{key}"], one[f"True/history/{key}"], rtol=0, atol=1e-10)


def test_two_ranks_train_as_plain_fit_with_the_same_order(two_ranks_and_one):
    """Without shuffling, the single-process reference is the ordinary fit, no MPI in it."""
    two, _ = two_ranks_and_one
    gw.set_default_dtype(np.float64)
    try:
        model, history = mpi_script.fit_mlp(64, shuffle=False)
    finally:
        gw.set_default_dtype(np.float32)
    for name, p in model.state_dict().items():
        np.testing.assert_allclose(two[f"False/{name}"], p.data, rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(two["False/history/val_loss"], history.history["val_loss"], rtol=0, atol=1e-10)


def test_the_clip_in_the_equivalence_run_is_active():
    """The runs above clip at norm 0.5; the first step's norm is above it, so clipping the rank's own
    gradient instead of the average would have shown."""
    gw.manual_seed(0)
    model = mpi_script.mlp()
    x, y = mpi_script.data()
    gw.nn.functional.cross_entropy(model(gw.Tensor(x[:64].astype(np.float32))), y[:64]).backward()
    assert optim.clip_grad_norm_(model.parameters(), 1e9) > 0.5


def test_buckets_broadcast_buffers_and_batchnorm_across_ranks(tmp_path):
    done = run_script(2, "collectives", tmp_path / "c.npz")
    assert done.returncode == 0, done.stderr
    r = np.load(tmp_path / "c.npz")
    assert r["buckets"] == 3  # 40-byte buckets: one per parameter
    # rank r's gradients were (r+1)·[1 1 1] and (r+1)·[0 1 2 3]; the third parameter had none (zero)
    np.testing.assert_array_equal(r["grads"], [1.5, 1.5, 1.5, 0, 1.5, 3, 4.5, 0, 0])
    assert r["broadcast_spread"] == 0
    np.testing.assert_array_equal(r["running_mean"], np.full(8, 1.5))
    np.testing.assert_array_equal(r["sum"], [2, 1])
    # BatchNorm trained on two ranks: weights and running statistics identical on both, and it learned
    assert r["trained_spread"] == 0
    assert r["train_accuracy"] > 0.6 and np.isfinite(r["val_loss"])


@pytest.mark.parametrize("how, message", [
    ("raise", "mpi_script: rank 1 of 2 failed: RuntimeError: the disk caught fire (traceback above)"),
    ("kill", ""),
])
def test_a_failing_rank_ends_every_rank_within_seconds(how, message):
    """Rank 1 fails at its third step while rank 0 waits for it in the gradient Allreduce: rank 1 names
    itself and aborts the job (an exception), or MPI's launcher ends the job (SIGKILL): no hang."""
    start = time.monotonic()
    done = run_script(2, how, "unused", timeout=30)
    assert time.monotonic() - start < 30
    assert done.returncode != 0
    assert message in done.stderr
    if how == "raise":
        assert done.stderr.count("failed:") == 1 and "rank 0 of 2" not in done.stderr
