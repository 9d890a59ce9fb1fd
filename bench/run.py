"""Throughput of gradwork against PyTorch on the same workloads, measured in the same run.

    python bench/run.py [--rounds 7] [--seconds 1.0] [--only W1] [--device cpu|cuda]

Each workload is timed for gradwork and PyTorch alternately (interleaved rounds, so both see the
same machine load), and the median samples/s over the rounds is reported with the ratio.
PyTorch is optional: without it only gradwork's numbers are printed.

Workloads:
    W1        MLP 784-256-256-10, ReLU, softmax cross-entropy, batch 128, float32: one SGD training step
    W1-infer  the same MLP, forward only under no_grad, batch 1000
    W2        CNN: conv 1→16 3×3 pad 1, ReLU, max-pool 2, conv 16→32 3×3 pad 1, ReLU, max-pool 2,
              fc 1568→128, ReLU, fc 128→10; batch 128 of 28×28 images, one SGD step
    W3        SimpleConvNet (conv 5×5 ×30, ReLU, max-pool 2, fc 100, fc 10), batch 100, one SGD step
    W5        W2's forward pass under no_grad, batch 1000
    W4        LSTM language model (embedding 65→128, LSTM 256, linear →65), sequences of 64, batch 32:
              one SGD step with back-propagation through all 64 steps (PyTorch: nn.LSTM)
    W6        ResNet-20 (resnet-small: 3 stages × 3 BasicBlocks, 16/32/64 channels, BatchNorm) on 1×28×28,
              batch 128: one SGD step
    W7        Transformer encoder classifier: embedding 1000→128, 2 pre-norm layers (4 heads, feed-forward
              512, no dropout), mean over 64 tokens, linear → 2; batch 32: one SGD step
    W8        word2vec skip-gram step with negative sampling: vocabulary 5,492, dim 100, batch 1024, 5 noise
              words, sparse embedding gradients and SparseAdam (examples/s; words/s against gensim on a
              real corpus: ``python bench/word2vec.py``)

Peak memory of a process training W2: ``python bench/memory.py``. W1 and W1-infer written as plain NumPy
(the most a framework built on NumPy could reach) beside both: ``python bench/numpy_floor.py``.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import gradwork as gw  # noqa: E402
import gradwork.nn.functional as F  # noqa: E402
from gradwork import nn, optim  # noqa: E402
from arguments import positive_float, positive_int  # noqa: E402  (bench/arguments.py)

if os.environ.get("GRADWORK_BENCH_NO_TORCH"):
    torch = None  # bench/memory.py measures gradwork alone
else:
    try:
        import torch
    except ImportError:
        torch = None


#: Where both frameworks run (``--device``): "cpu", or "cuda" (gradwork through CuPy, PyTorch on its CUDA).
DEVICE = "cpu"
#: The workloads that run on a GPU too (the others are skipped with --device cuda).
ON_DEVICE = ("W1", "W1-infer", "W2", "W3", "W5", "W6")


def on_device_gw(model, x, y=None):
    """The model (in place) and the data on DEVICE, for gradwork: inputs as a tensor, labels as an array."""
    model.to(DEVICE)
    x = gw.tensor(x, device=DEVICE)
    return (x,) if y is None else (x, gw.backend.to_device(y, DEVICE))


def on_device_torch(model, *arrays):
    model.to(DEVICE)
    return tuple(torch.from_numpy(a).to(DEVICE) for a in arrays)


def synchronize():
    """Wait for the GPU's queued work (kernels run asynchronously), so a timed step is a finished step."""
    if DEVICE == "cpu":
        return
    import cupy
    cupy.cuda.Device().synchronize()
    if torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()


def mlp_data(batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 784)).astype(np.float32), rng.integers(0, 10, batch)


def gradwork_mlp():
    gw.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def torch_mlp():
    torch.manual_seed(0)
    tnn = torch.nn
    return tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 256), tnn.ReLU(), tnn.Linear(256, 10))


def w1_gradwork(batch=128):
    model = gradwork_mlp()
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = on_device_gw(model, *mlp_data(batch))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step, batch


def w1_torch(batch=128):
    model = torch_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = on_device_torch(model, *mlp_data(batch))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step, batch


def w1_infer_gradwork(batch=1000):
    model = gradwork_mlp().eval()
    (x,) = on_device_gw(model, mlp_data(batch)[0])

    def step():
        with gw.no_grad():
            model(x)
    return step, batch


def w1_infer_torch(batch=1000):
    model = torch_mlp().eval()
    (x,) = on_device_torch(model, mlp_data(batch)[0])

    def step():
        with torch.no_grad():
            model(x)
    return step, batch


PAUSE = 0.5  # seconds between rounds

def image_data(batch):
    rng = np.random.default_rng(0)
    return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)


def cnn_layers(lib):
    """W2's network, written once for both frameworks (same layer names and shapes)."""
    return [lib.Conv2d(1, 16, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
            lib.Conv2d(16, 32, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
            lib.Linear(1568, 128), lib.ReLU(), lib.Linear(128, 10)]


def simple_convnet_layers(lib):
    return [lib.Conv2d(1, 30, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
            lib.Linear(4320, 100), lib.ReLU(), lib.Linear(100, 10)]


def train_step_gradwork(layers, batch):
    gw.manual_seed(0)
    model = nn.Sequential(*layers(nn))
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = on_device_gw(model, *image_data(batch))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step, batch


def train_step_torch(layers, batch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers(torch.nn))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = on_device_torch(model, *image_data(batch))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step, batch


def inference_gradwork(layers, batch):
    gw.manual_seed(0)
    model = nn.Sequential(*layers(nn)).eval()
    (x,) = on_device_gw(model, image_data(batch)[0])

    def step():
        with gw.no_grad():
            model(x)
    return step, batch


def inference_torch(layers, batch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(*layers(torch.nn)).eval()
    (x,) = on_device_torch(model, image_data(batch)[0])

    def step():
        with torch.no_grad():
            model(x)
    return step, batch


LSTM_SIZES = dict(vocab=65, embed=128, hidden=256, seq=64, batch=32)


def lstm_data():
    rng = np.random.default_rng(0)
    s = LSTM_SIZES
    return rng.integers(0, s["vocab"], (s["batch"], s["seq"])), rng.integers(0, s["vocab"], (s["batch"], s["seq"]))


def w4_gradwork():
    s = LSTM_SIZES
    gw.manual_seed(0)
    model = gw.models.CharRNN(s["vocab"], s["embed"], s["hidden"])
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = lstm_data()

    def step():
        opt.zero_grad()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, s["vocab"]), y.reshape(-1))
        loss.backward()
        opt.step()
    return step, s["batch"]


def resnet20(lib):
    """ResNet-20 for 1×28×28 inputs, written once for both frameworks (same names as gradwork's
    ``models.resnet_small``): stem conv 3×3 → BN → ReLU, three stages of three BasicBlocks."""

    class BasicBlock(lib.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = lib.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = lib.BatchNorm2d(cout)
            self.conv2 = lib.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = lib.BatchNorm2d(cout)
            self.relu = lib.ReLU()
            self.shortcut = (lib.Sequential(lib.Conv2d(cin, cout, 1, stride=stride, bias=False), lib.BatchNorm2d(cout))
                             if stride != 1 or cin != cout else None)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.shortcut is None else self.shortcut(x)))

    layers, channels = [lib.Conv2d(1, 16, 3, padding=1, bias=False), lib.BatchNorm2d(16), lib.ReLU()], 16
    for stage, width in enumerate((16, 32, 64)):
        for block in range(3):
            layers.append(BasicBlock(channels, width, 2 if stage > 0 and block == 0 else 1))
            channels = width
    layers += [lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Linear(64, 10)]
    return layers


TRANSFORMER_SIZES = dict(vocab=1000, d_model=128, heads=4, feedforward=512, layers=2, seq=64, batch=32)


def transformer_classifier(lib):
    """The W7 model for either framework: embedding, a 2-layer pre-norm Transformer encoder, mean over
    the tokens, linear head."""
    s = TRANSFORMER_SIZES
    extra = {"enable_nested_tensor": False} if lib is not nn else {}

    class Classifier(lib.Module):
        def __init__(self):
            super().__init__()
            self.embedding = lib.Embedding(s["vocab"], s["d_model"])
            layer = lib.TransformerEncoderLayer(s["d_model"], s["heads"], s["feedforward"], dropout=0.0,
                                                batch_first=True, norm_first=True)
            self.encoder = lib.TransformerEncoder(layer, s["layers"], **extra)
            self.head = lib.Linear(s["d_model"], 2)

        def forward(self, ids):
            return self.head(self.encoder(self.embedding(ids)).mean(1))

    return Classifier()


def transformer_data():
    rng = np.random.default_rng(0)
    s = TRANSFORMER_SIZES
    return rng.integers(0, s["vocab"], (s["batch"], s["seq"])), rng.integers(0, 2, s["batch"])


def w7_gradwork():
    gw.manual_seed(0)
    model = transformer_classifier(nn)
    opt = optim.SGD(model.parameters(), lr=0.01)
    ids, y = transformer_data()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(ids), y).backward()
        opt.step()
    return step, TRANSFORMER_SIZES["batch"]


def w7_torch():
    torch.manual_seed(0)
    model = transformer_classifier(torch.nn)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    ids, y = (torch.from_numpy(a) for a in transformer_data())

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(ids), y).backward()
        opt.step()
    return step, TRANSFORMER_SIZES["batch"]


W2V_SIZES = dict(vocab=5492, dim=100, batch=1024, negatives=5)


def word2vec_data():
    """Center, context and noise ids drawn as a corpus gives them: Zipf's law, the noise from its ¾ power."""
    s = W2V_SIZES
    rng = np.random.default_rng(0)
    p = 1 / np.arange(1, s["vocab"] + 1)
    noise_p = p ** 0.75
    centers, contexts = (rng.choice(s["vocab"], s["batch"], p=p / p.sum()) for _ in range(2))
    noise = rng.choice(s["vocab"], (s["batch"], s["negatives"]), p=noise_p / noise_p.sum())
    return centers, contexts, noise


def w8_gradwork():
    s = W2V_SIZES
    gw.manual_seed(0)
    model = gw.models.Word2Vec([f"w{i}" for i in range(s["vocab"])], s["dim"], sparse=True)
    opt = optim.SparseAdam(model.parameters(), lr=0.003)
    centers, contexts, noise = word2vec_data()

    def step():
        opt.zero_grad()
        model(centers, contexts, noise).backward()
        opt.step()
    return step, s["batch"]


def w8_torch():
    s = W2V_SIZES
    torch.manual_seed(0)
    in_embed = torch.nn.Embedding(s["vocab"], s["dim"], sparse=True)
    out_embed = torch.nn.Embedding(s["vocab"], s["dim"], sparse=True)
    opt = torch.optim.SparseAdam([*in_embed.parameters(), *out_embed.parameters()], lr=0.003)
    centers, contexts, noise = (torch.from_numpy(a) for a in word2vec_data())
    words = torch.cat([contexts[:, None], noise], dim=1)  # the true word, then the noise words
    labels = torch.zeros(words.shape)
    labels[:, 0] = 1

    def step():
        opt.zero_grad()
        scores = torch.bmm(out_embed(words), in_embed(centers).unsqueeze(-1)).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / s["batch"]
        loss.backward()
        opt.step()
    return step, s["batch"]


def w4_torch():
    s = LSTM_SIZES
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(s["vocab"], s["embed"])
    lstm = torch.nn.LSTM(s["embed"], s["hidden"], batch_first=True)
    head = torch.nn.Linear(s["hidden"], s["vocab"])
    params = [*embedding.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    x, y = (torch.from_numpy(a) for a in lstm_data())

    def step():
        opt.zero_grad()
        out, _ = lstm(embedding(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, s["vocab"]), y.reshape(-1))
        loss.backward()
        opt.step()
    return step, s["batch"]


# name: (description, gradwork's step, PyTorch's step, target ratio (issue 16), or None: measured, no target yet)
WORKLOADS = {
    "W1": ("MLP 784-256-256-10 train step, batch 128, SGD", w1_gradwork, w1_torch, 1.1),
    "W1-infer": ("MLP 784-256-256-10 inference, batch 1000, no_grad", w1_infer_gradwork, w1_infer_torch, 1.1),
    "W2": ("CNN 2 conv + 2 fc train step, batch 128, SGD", lambda: train_step_gradwork(cnn_layers, 128),
           lambda: train_step_torch(cnn_layers, 128), 0.8),
    "W3": ("SimpleConvNet train step, batch 100, SGD", lambda: train_step_gradwork(simple_convnet_layers, 100),
           lambda: train_step_torch(simple_convnet_layers, 100), 1.0),
    "W5": ("W2's CNN inference, batch 1000, no_grad", lambda: inference_gradwork(cnn_layers, 1000),
           lambda: inference_torch(cnn_layers, 1000), 1.0),
    "W4": ("LSTM language-model step: vocab 65, embed 128, hidden 256, seq 64, batch 32, full BPTT, SGD",
           w4_gradwork, w4_torch, 0.55),
    "W6": ("ResNet-20 + BatchNorm train step, 1×28×28, batch 128, SGD", lambda: train_step_gradwork(resnet20, 128),
           lambda: train_step_torch(resnet20, 128), None),
    "W7": ("Transformer encoder classifier train step: d 128, 4 heads, 2 layers, seq 64, batch 32, SGD",
           w7_gradwork, w7_torch, None),
    "W8": ("word2vec skip-gram step: vocab 5,492, dim 100, batch 1024, 5 noise words, sparse, SparseAdam",
           w8_gradwork, w8_torch, None),
}


def time_round(step, batch, seconds):
    """Samples per second over as many steps as fit in ``seconds`` (after one warm-up step).

    The pause first lets the other framework's worker threads, which busy-wait for a while after
    their last task (OpenMP, OpenBLAS), go to sleep: otherwise they steal a core from this round.
    """
    time.sleep(PAUSE)
    step()
    synchronize()
    n, start = 0, time.perf_counter()
    while True:
        step()
        synchronize()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n * batch / elapsed


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        infos = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, {i.get('threading_layer', '')})"
                 for i in threadpool_info() if i.get("user_api") == "blas"]
        return "; ".join(infos) or "unknown"
    except ImportError:
        return "unknown (install threadpoolctl to see)"


def compiled_loops():
    """Whether gradwork's compiled loops (kernels/jit.py) run here: Numba's version, or why not."""
    from gradwork.kernels import jit
    if jit.numba_version() is None:
        return 'off (Numba not installed: pip install "gradwork[jit]")'
    if not jit.available():
        return "off (switched off: gw.kernels.jit.enable(False), or NUMBA_DISABLE_JIT)"
    return f"on (Numba {jit.numba_version()})"


def main():
    # Both frameworks run in this process with the same allocator setting (see backend.reuse_freed_memory).
    allocator = "freed memory kept for reuse (glibc mallopt)" if gw.backend.reuse_freed_memory() else "default"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="time per round per framework")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), metavar="WORKLOAD",
                        help=f"workload names to run, of {', '.join(WORKLOADS)}")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help=f"where both frameworks run; cuda runs {', '.join(ON_DEVICE)} (needs gradwork[cuda])")
    args = parser.parse_args()
    global DEVICE, torch
    DEVICE = args.device
    if DEVICE == "cuda":
        print(f"device: {gw.backend.Device('cuda')} through CuPy {gw.backend.Device('cuda').xp.__version__}")
        if torch is not None and not torch.cuda.is_available():
            print("PyTorch here has no CUDA: gradwork numbers only")
            torch = None
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"NumPy BLAS: {blas_info()}")
    if torch is not None:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("PyTorch not installed: gradwork numbers only")
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    print(f"thread environment: {env or 'none set'}; allocator: {allocator}")
    print(f"compiled loops (gradwork[jit]): {compiled_loops()}")
    print(f"{args.rounds} interleaved rounds of {args.seconds:.1f}s each; medians\n")
    print(f"{'workload':<10} {'gradwork/s':>12} {'pytorch/s':>12} {'ratio':>7} {'target':>7}  description")
    for name, (description, make_gw, make_torch, target) in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        if DEVICE != "cpu" and name not in ON_DEVICE:
            print(f"{name:<10} skipped on {DEVICE} (only {', '.join(ON_DEVICE)} run there)")
            continue
        gw_step, batch = make_gw()
        torch_step = make_torch()[0] if torch is not None else None
        gw_rates, torch_rates = [], []
        for _ in range(args.rounds):
            gw_rates.append(time_round(gw_step, batch, args.seconds))
            if torch_step is not None:
                torch_rates.append(time_round(torch_step, batch, args.seconds))
        g = statistics.median(gw_rates)
        if torch_rates:
            t = statistics.median(torch_rates)
            ratio = g / t
            verdict = "no target" if target is None else "ok" if ratio >= target else "BELOW"
            print(f"{name:<10} {g:>12,.0f} {t:>12,.0f} {ratio:>6.2f}x {_target(target)}  {description} [{verdict}]")
        else:
            print(f"{name:<10} {g:>12,.0f} {'-':>12} {'-':>7} {_target(target)}  {description}")


def _target(target):
    return f"{target:>6.2f}x" if target is not None else f"{'-':>7}"


if __name__ == "__main__":
    main()
