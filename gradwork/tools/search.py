"""Hyperparameter search on Optuna: random search, grid search and TPE (Bayesian optimisation),
with pruning of hopeless trials and a study stored in a database so a search can stop and resume.

The course's advice, as code:
- sample learning rates (and other scale parameters) on a log scale: lr = 10^U(−4, 0), not U(0.0001, 1)
  — the second puts 90% of the trials between 0.1 and 1;
- random search beats grid search when only some hyperparameters matter (each trial tries a new
  value of every one);
- search coarse to fine: find the good region, then search again inside it (``narrow``).

A search space is a dict name → ``Range(low, high, log=False, integer=False)`` or ``Choice([...])``;
``parse_param("lr=1e-4:1:log")`` reads the command-line form.

Past one process. A study lives in a storage that several processes, on one machine or many, can
share; each runs ``search`` on the same study and takes trials from it one at a time:
- the storage: ``sqlite:///study.db`` for one process (SQLite locks the whole file on every write);
  ``journal:PATH`` for many processes on one machine (Optuna's journal: an append-only log file, shared
  through a file lock); ``postgresql+psycopg2://user:password@host:5432/db`` for many machines;
- the budget: trials are numbered by the storage, one writer at a time, so a trial's number is a
  ticket: every process stops once the study holds ``until`` trials, and a trial numbered past it
  (another process took the last place between our count and our request) is failed, never run;
- the two traps of a shared search: processes racing to create the tables and the study (the loser
  of the race retries, then loads what the winner made), and processes drawing the same trials (each
  seeds its sampler with ``seed`` + the number of its first trial, which no other process has).
"""
import math
import os
import random
import socket
import time
import warnings
from dataclasses import dataclass

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from gradwork.errors import ConfigError, MissingExtraError

SAMPLERS = ("random", "grid", "tpe")


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self):
        if not self.low < self.high:
            raise ConfigError(f"search range: low must be below high, got {self.low} ≥ {self.high}")
        if self.log and self.low <= 0:
            raise ConfigError(f"search range: a log scale needs positive bounds, got low = {self.low} "
                              f"(use e.g. 1e-6 instead of 0)")

    def suggest(self, trial, name):
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def grid(self, points):
        if self.integer:
            values = sorted({int(round(v)) for v in self._spaced(points)})
            return values
        return [float(v) for v in self._spaced(points)]

    def _spaced(self, points):
        if points == 1:
            return [math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2]
        if self.log:
            a, b = math.log10(self.low), math.log10(self.high)
            return [10 ** (a + (b - a) * k / (points - 1)) for k in range(points)]
        return [self.low + (self.high - self.low) * k / (points - 1) for k in range(points)]


@dataclass(frozen=True)
class Choice:
    values: tuple

    def __post_init__(self):
        if not self.values:
            raise ConfigError("search choice: give at least one value")

    def suggest(self, trial, name):
        return trial.suggest_categorical(name, list(self.values))

    def grid(self, points):
        return list(self.values)


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"search parameter: {text!r} is not a number") from None
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def parse_param(text):
    """``"lr=1e-4:1:log"`` → ("lr", Range(1e-4, 1, log=True)); ``"hidden=16:256:int:log"``;
    ``"batch_size=32,64,128"`` → a Choice. Raises ``ConfigError`` with the expected form."""
    if "=" not in text:
        raise ConfigError(f"--param {text!r}: expected NAME=LOW:HIGH[:log][:int] or NAME=A,B,C")
    name, spec = (s.strip() for s in text.split("=", 1))
    if ":" in spec:
        parts = spec.split(":")
        flags = {p.strip().lower() for p in parts[2:]}
        unknown = flags - {"log", "int"}
        if len(parts) < 2 or unknown:
            raise ConfigError(f"--param {text!r}: expected NAME=LOW:HIGH[:log][:int]")
        return name, Range(float(_number(parts[0])), float(_number(parts[1])), log="log" in flags,
                           integer="int" in flags)
    return name, Choice(tuple(_number(v.strip()) for v in spec.split(",") if v.strip()))


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()`` once every point is taken: Optuna allows that
    call only inside ``study.optimize``, and ``search`` runs its own loop, which asks ``is_exhausted``
    before each trial instead."""

    def after_trial(self, study, trial, state, values):
        pass


def build_sampler(name, space, seed=0, grid_points=3):
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        # constant_liar: trials still running in other processes count as bad ones, so that two
        # processes do not both sample the most promising point (experimental before Optuna 4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, constant_liar=True)
    if name == "grid":
        return GridSampler({k: v.grid(grid_points) for k, v in space.items()}, seed=seed)
    raise ConfigError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")


def default_storage(path):
    """An SQLite URL for a file path: the study survives the process and can be resumed."""
    return f"sqlite:///{path}"


JOURNAL = "journal:"
CREATE_RETRIES = 8  # processes that race to create a fresh database's tables: the losers try again


def open_storage(url):
    """The Optuna storage behind ``url``, opened (and its tables created the first time):
    ``journal:PATH`` → a ``JournalStorage`` on a journal file; any other text → an SQLAlchemy URL
    (``sqlite:///study.db``, ``postgresql+psycopg2://user:password@host:5432/db``); ``None`` → memory.
    A URL that cannot be opened raises a ``ConfigError`` (a ``MissingExtraError`` for a driver that
    is not installed) naming the driver and the host."""
    if url is None:
        return None
    if url.startswith(JOURNAL):
        return _journal_storage(url[len(JOURNAL):])
    for attempt in range(1, CREATE_RETRIES + 1):
        try:
            # pool_pre_ping: a connection a server or firewall dropped during a long trial is replaced
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            # Several processes creating the tables of an empty database at once: all but one fail
            # with "duplicate key ... pg_type_typname_nsp_index" or "relation ... already exists".
            if attempt == CREATE_RETRIES:
                raise storage_error(url, error) from None
            time.sleep(random.uniform(0.05, 0.5))
        except (ImportError, sqlalchemy.exc.SQLAlchemyError) as error:  # what a bad storage URL raises
            raise storage_error(url, error) from None


def _journal_storage(path):
    if not path:
        raise ConfigError("the storage 'journal:' names no file; give one such as journal:runs/search.log")
    try:
        from optuna.storages.journal import JournalFileBackend  # Optuna ≥ 4
    except ImportError:
        from optuna.storages import JournalFileStorage as JournalFileBackend  # its name before Optuna 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # before Optuna 4
        try:
            return optuna.storages.JournalStorage(JournalFileBackend(path))
        except OSError as error:
            raise ConfigError(f"cannot open the journal file {path} of the study storage: {error.strerror}; "
                              "check that its folder exists and is writable") from None


def storage_error(url, error):
    """A ``ConfigError`` for a study storage that cannot be opened, naming the driver and the host (never
    the password) and what to do: a malformed URL, a database not reached; a ``MissingExtraError`` for a
    driver that is not installed."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return ConfigError(f"the storage {url!r} is not a database URL; give one such as sqlite:///study.db or "
                           "postgresql://user:password@host:5432/dbname")
    shown = parsed.render_as_string(hide_password=True)
    where = f"driver {parsed.drivername}, " + (f"host {parsed.host}" if parsed.host else f"file {parsed.database}")
    if isinstance(error, sqlalchemy.exc.NoSuchModuleError):
        reason = (f"SQLAlchemy has no driver called {parsed.drivername!r} (sqlite, postgresql and mysql are; "
                  "journal:PATH names a journal file)")
    elif isinstance(error, ImportError):
        install = ('pip install "gradwork[postgres]"' if parsed.get_backend_name() == "postgresql" else
                   f"install the Python package of the {parsed.drivername} driver, e.g. pymysql for mysql+pymysql")
        return MissingExtraError(f"cannot open the study storage {shown} ({where}): the Python package of the "
                                 f"{parsed.get_backend_name()} driver is not installed: {install}")
    else:
        original = getattr(error, "orig", None) or error
        reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
        reason += ("; check that the folder exists and is writable" if parsed.get_backend_name() == "sqlite" else
                   "; check that the database server runs and can be reached, and the URL's host, port and name")
    return ConfigError(f"cannot open the study storage {shown} ({where}): {reason}")


def study_names(storage):
    """The names of the studies an opened storage holds."""
    return sorted(optuna.get_all_study_names(storage)) if storage is not None else []


def open_study(storage=None, study_name="gradwork-search", *, direction="maximize", resume=False, sampler=None,
               pruner=None):
    """The study ``study_name`` in ``storage`` (a URL or ``journal:PATH``, see ``open_storage``), created
    if it does not exist yet — by one process only, when several start at once: Optuna's
    ``load_if_exists`` turns the loser's duplicate into a load. ``resume=True``: the study must exist
    already, else a ``ConfigError`` lists the studies that do."""
    opened = open_storage(storage)
    if resume and study_name not in study_names(opened):
        names = study_names(opened)
        held = f"it holds {', '.join(repr(n) for n in names)}" if names else "it holds no study yet"
        raise ConfigError(f"cannot resume the study {study_name!r}: there is none of that name in {shown_url(storage)} "
                          f"({held}); give one of those names, or leave out --resume to start it")
    try:
        return optuna.create_study(storage=opened, sampler=sampler, pruner=pruner, study_name=study_name,
                                   direction=direction, load_if_exists=True)
    except (ImportError, sqlalchemy.exc.SQLAlchemyError) as error:
        raise storage_error(storage, error) from None


def shown_url(url):
    """A storage URL as it may be printed: without its password."""
    if url is None or url.startswith(JOURNAL):
        return url or "memory"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def search(objective, space, trials=None, *, until=None, sampler="random", storage=None,
           study_name="gradwork-search", direction="maximize", seed=0, grid_points=3, prune=True, resume=False):
    """Run trials of ``objective(params, trial) -> score`` over ``space`` and return the Optuna study:
    ``trials`` more than the study holds now, or, with ``until``, until the study holds ``until``
    trials in all, however many processes take part (each given the same ``until``).

    With ``storage`` (``sqlite:///search.db``, ``journal:search.log``, a PostgreSQL URL) the study is
    saved as it goes and an existing study of that name is continued — from the same machine or from
    several at once (see the module's notes). ``prune``: stop trials whose intermediate scores
    (reported with ``trial.report``) fall below the median of earlier trials at the same step.
    ``resume``: the study must exist already."""
    if (trials is None) == (until is None):
        raise ConfigError("search: give either trials (how many to run now) or until (how many the study holds "
                          "at the end)")
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1) if prune else optuna.pruners.NopPruner()
    study = open_study(storage, study_name, direction=direction, resume=resume, pruner=pruner,
                       sampler=build_sampler(sampler, space, seed, grid_points))
    if until is None:
        until = len(study.get_trials(deepcopy=False)) + trials
    worker = worker_name(os.getpid())  # which process ran a trial, kept as a user attribute
    first = True
    while len(study.get_trials(deepcopy=False)) < until:
        if isinstance(study.sampler, GridSampler) and study.sampler.is_exhausted(study):
            break
        trial = study.ask()
        trial.set_user_attr("worker", worker)  # at once, so a trial whose process is killed can be found
        if trial.number >= until:  # another process took the last place between our count and our ask
            trial.set_user_attr("over_budget", True)
            study.tell(trial, state=TrialState.FAIL)
            break
        if first:  # this trial's number is this process's alone, so is the seed: no two draw alike
            study.sampler = build_sampler(sampler, space, seed + trial.number, grid_points)
            first = False
        _run(study, trial, objective, space)
    return study


def worker_name(pid):
    """How a trial names the process that ran it: ``host:pid``."""
    return f"{socket.gethostname()}:{pid}"


def fail_abandoned(study, pids):
    """Tell as failed the trials still "running" for processes of this machine that are gone (killed
    mid-trial, they could not say so themselves); return their numbers."""
    gone = {worker_name(pid) for pid in pids}
    abandoned = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                 if t.user_attrs.get("worker") in gone]
    for number in abandoned:
        study.tell(number, state=TrialState.FAIL)
    return abandoned


def _run(study, trial, objective, space):
    """One trial, told to the study as complete, pruned, or failed (and the error raised again)."""
    try:
        score = objective({name: spec.suggest(trial, name) for name, spec in space.items()}, trial)
    except optuna.TrialPruned:
        study.tell(trial, state=TrialState.PRUNED)
    except BaseException:  # an error, Ctrl-C or a stop signal: the trial is not left "running"
        study.tell(trial, state=TrialState.FAIL)
        raise
    else:
        study.tell(trial, score)


def finished_trials(study):
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def results_table(study, limit=None):
    """The trials as text, best first: number, score, state and every hyperparameter."""
    trials = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials.sort(key=lambda t: (t.value is None, -(t.value or 0) if reverse else (t.value or 0)))
    names = sorted({n for t in trials for n in t.params})
    header = f"{'trial':>5}  {'score':>8}  {'state':<8}  " + "  ".join(f"{n:>12}" for n in names)
    lines = [header]
    for t in trials[:limit]:
        score = f"{t.value:.4f}" if t.value is not None else "-"
        values = "  ".join(f"{t.params[n]:>12.4g}" if isinstance(t.params.get(n), float) else
                           f"{t.params.get(n, '-')!s:>12}" for n in names)
        lines.append(f"{t.number:>5}  {score:>8}  {t.state.name.lower():<8}  {values}")
    return "\n".join(lines)


def narrow(study, space, top=0.25):
    """Coarse to fine: a new space whose ranges span the best ``top`` fraction of the finished trials
    (at least two trials); choices and parameters without spread are kept as they were."""
    trials = finished_trials(study)
    if len(trials) < 2:
        raise ConfigError("narrow: at least two finished trials are needed to narrow the search")
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = sorted(trials, key=lambda t: t.value, reverse=reverse)[:max(2, math.ceil(top * len(trials)))]
    narrowed = {}
    for name, spec in space.items():
        values = [t.params[name] for t in best if name in t.params]
        if isinstance(spec, Range) and values and min(values) < max(values):
            narrowed[name] = Range(min(values), max(values), spec.log, spec.integer)
        else:
            narrowed[name] = spec
    return narrowed


def plot_search(study, path=None, space=None):
    """Score against each hyperparameter, one panel per parameter (log axis for log ranges); pruned
    trials are drawn at their last reported score, in grey. Saves a PNG to ``path`` if given."""
    from gradwork.tools.viz._figure import finish, plt  # here: a search's worker processes draw nothing

    trials = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    if not trials:
        raise ValueError("plot_search: the study has no finished trials yet")
    names = sorted({n for t in trials for n in t.params})
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for pruned in (False, True):
            chosen = [t for t in trials if (t.state == optuna.trial.TrialState.PRUNED) == pruned and name in t.params]
            scores = [t.value if t.value is not None else t.intermediate_values.get(t.last_step) for t in chosen]
            ax.scatter([t.params[name] for t in chosen], scores, s=22,
                       color="lightgrey" if pruned else "tab:blue", label="pruned" if pruned else "finished")
        spec = (space or {}).get(name)
        if isinstance(spec, Range) and spec.log:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("validation score")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return finish(fig, path)
