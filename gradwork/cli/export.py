"""``gradwork export RUN``: write a trained run's model as an ONNX file and check it in onnxruntime.

The model is rebuilt from the run folder as ``gradwork evaluate`` does, exported with a dynamic batch
axis, then onnxruntime runs it on a batch of the run's test data and the largest difference from
gradwork's own outputs is printed. Any problem is one line and exit status 2, and leaves no file.
"""
import os

import numpy as np

from gradwork.cli.checks import POSITIVE_INT
from gradwork.cli.language_model import LANGUAGE_MODEL
from gradwork.cli.run_folder import RunFolder
from gradwork.cli.train import Experiment
from gradwork.errors import ConfigError

CHECK_BATCH = 32


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gradwork train`")
    parser.add_argument("--out", default=None, help="the ONNX file to write (default RUN/model.onnx)")
    parser.add_argument("--opset", type=POSITIVE_INT, default=17, help="ONNX operator set version (default 17)")


def run(args):
    from gradwork import onnx as gw_onnx
    from gradwork.onnx.errors import require
    folder = RunFolder(args.run)
    config = folder.read_config()
    if config.get("model") == LANGUAGE_MODEL:
        raise ConfigError("gradwork export: char-rnn runs cannot be exported yet (recurrent layers have no ONNX "
                          "mapping here)")
    folder.require_checkpoint("gradwork train")
    ort = require("onnxruntime")
    experiment = Experiment(config)
    dataset = experiment.split("test")
    folder.load_checkpoint(experiment.model, optimizer=None)
    x = np.asarray(dataset.get_batch(slice(0, min(CHECK_BATCH, len(dataset))))[0])
    out = args.out or os.path.join(str(folder.path), "model.onnx")
    gw_onnx.export(experiment.model, x[:2], out, opset_version=args.opset)
    try:
        from gradwork.autograd.tensor import Tensor
        session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        feed = x.astype(np.int64) if x.dtype.kind in "iu" else x
        got = session.run(None, {session.get_inputs()[0].name: feed})[0]
        with experiment.model.evaluating():
            expected = experiment.model(Tensor(feed)).data
    except BaseException:
        os.remove(out)  # a file onnxruntime cannot run is not left behind
        raise
    difference = float(np.abs(got - expected).max())
    print(f"wrote {out} ({os.path.getsize(out):,} bytes, opset {args.opset}, dynamic batch)")
    print(f"onnxruntime vs gradwork on {len(x)} test examples: max |difference| {difference:.2e}")
    return 0
