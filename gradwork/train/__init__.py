"""Training: ``fit``, ``evaluate``, callbacks, ``History`` and metrics."""
from gradwork.train.callbacks import (Callback, CSVLogger, EarlyStopping, FitState, MaxNorm, ModelCheckpoint,
                                      NaNGuard, ParameterStatistics, ProgressBar, TensorBoard)
from gradwork.train.history import History
from gradwork.train.loop import evaluate, fit, predict
from gradwork.train.metrics import accuracy, confusion_matrix, top_k_accuracy
from gradwork.train.language_model import (detach_state, evaluate_language_model, fit_language_model,
                                           unigram_bpc)
from gradwork.train.word2vec import fit_word2vec
