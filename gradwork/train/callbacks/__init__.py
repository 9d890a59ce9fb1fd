"""Callbacks for ``fit``: progress bar, early stopping, checkpoints, NaN guard, parameter statistics,
CSV and TensorBoard logs."""
from gradwork.train.callbacks.base import Callback, FitState
from gradwork.train.callbacks.checkpoint import ModelCheckpoint
from gradwork.train.callbacks.csv_logger import CSVLogger
from gradwork.train.callbacks.early_stopping import EarlyStopping
from gradwork.train.callbacks.max_norm import MaxNorm
from gradwork.train.callbacks.nan_guard import NaNGuard
from gradwork.train.callbacks.progress import ProgressBar
from gradwork.train.callbacks.parameter_statistics import ParameterStatistics
from gradwork.train.callbacks.tensorboard import TensorBoard
