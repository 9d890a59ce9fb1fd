"""A search shared by several processes: a journal file on one machine, a real PostgreSQL server for
several (started here in a temporary folder, skipped where PostgreSQL 15's ``initdb``/``pg_ctl`` or
psycopg2 are missing). The checks: every trial is recorded once and the study holds exactly the
trials asked for; the best trial is the one reported; processes started at once on an empty database
do not trip over each other creating it; no two processes draw the same trials."""
import argparse
import collections
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import optuna
import pytest

import gradwork
from gradwork.cli import search as search_command
from gradwork.cli.main import main
from gradwork.tools import search as hs

# The smallest search the search tests run: an MLP on scikit-learn's digits, one epoch a trial.
QUICK = ["--model", "mlp", "--dataset", "digits", "--epochs", "1", "--param", "lr=1e-3:1e-1:log", "--no-prune"]
SOURCE_ROOT = os.path.dirname(os.path.dirname(gradwork.__file__))


def finished(study):
    return [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]


def check_shared_search(storage, name, trials, workers, capsys=None):
    """Exactly ``trials`` finished trials, each number once, run by ``workers`` processes whose first
    trials differ, no two trials alike; and (given the command's output) the best one reported."""
    study = hs.open_study(storage, name, resume=True)
    done = finished(study)
    assert len(done) == trials
    assert sorted(t.number for t in done) == sorted({t.number for t in done})
    assert all(t.user_attrs.get("over_budget") for t in study.trials if t not in done)
    assert len({t.params["lr"] for t in done}) == trials  # no two processes drew the same values
    by_worker = collections.defaultdict(list)
    for t in sorted(done, key=lambda t: t.number):
        by_worker[t.user_attrs["worker"]].append(t)
    assert len(by_worker) == workers
    firsts = [trials_of_one[0].params["lr"] for trials_of_one in by_worker.values()]
    assert len(set(firsts)) == workers
    if capsys is not None:
        assert f"best: trial {study.best_trial.number}, validation accuracy {study.best_value:.4f}" in \
            capsys.readouterr().out


def worker_command(*arguments):
    """``gradwork search ...`` as a process, importing this checkout's gradwork."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [SOURCE_ROOT,
                                                                          os.environ.get("PYTHONPATH")])))
    return {"args": [sys.executable, "-m", "gradwork", "search", *arguments], "env": environment,
            "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}


# ----------------------------------------------------------------------------------------------------
# The budget and the seeds, in one process (threads, a journal file): fast, and races on every run.

def test_processes_sharing_a_budget_run_exactly_that_many_trials(tmp_path):
    storage = f"journal:{tmp_path / 'study.log'}"
    hs.open_study(storage, "shared")
    ran = []

    def objective(params, trial):
        ran.append(trial.number)
        return params["x"]

    threads = [threading.Thread(target=hs.search, args=(objective, {"x": hs.Range(0, 1)}),
                                kwargs={"until": 30, "storage": storage, "study_name": "shared", "prune": False})
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    study = hs.open_study(storage, "shared", resume=True)
    assert sorted(ran) == list(range(30))  # a trial numbered past the budget is failed, never run
    assert len(finished(study)) == 30
    assert len({t.params["x"] for t in finished(study)}) == 30


def test_each_process_seeds_its_sampler_with_its_first_trial_number(tmp_path):
    storage = f"journal:{tmp_path / 'study.log'}"
    space = {"x": hs.Range(0, 1)}
    first = hs.search(lambda p, trial: p["x"], space, 1, storage=storage, study_name="s", seed=5).trials[0]
    second = hs.search(lambda p, trial: p["x"], space, 1, storage=storage, study_name="s", seed=5).trials[1]
    alone = hs.search(lambda p, trial: p["x"], space, 2, seed=5).trials  # one process, seed 5 + 0
    assert first.params == alone[0].params
    assert second.params != first.params  # a second process (or a resumed search) does not replay the first
    assert second.params == hs.search(lambda p, trial: p["x"], space, 1, seed=6).trials[0].params


def test_a_grid_search_stops_when_the_grid_is_done(tmp_path):
    study = hs.search(lambda p, trial: p["a"], {"a": hs.Choice((1, 2, 3))}, 10, sampler="grid",
                      storage=f"journal:{tmp_path / 'g.log'}", prune=False)
    assert sorted(t.params["a"] for t in study.trials) == [1, 2, 3]


# ----------------------------------------------------------------------------------------------------
# gradwork search --jobs N on a journal file; the command's bad input.

def test_three_journal_workers_share_one_study_and_resume_continues_it(tmp_path, capsys):
    storage = f"journal:{tmp_path / 'study.log'}"
    common = ["search", *QUICK, "--storage", storage, "--out", str(tmp_path), "--study", "j"]
    assert main([*common, "--jobs", "3", "--trials", "6"]) == 0
    check_shared_search(storage, "j", 6, 3, capsys)
    assert (tmp_path / "search.png").is_file() and len((tmp_path / "results.txt").read_text().splitlines()) == 7
    assert main([*common, "--trials", "2", "--resume"]) == 0  # one process, on the same journal
    assert len(finished(hs.open_study(storage, "j", resume=True))) == 8


def test_a_worker_that_dies_leaves_its_share_to_the_others(tmp_path, capfd, monkeypatch):
    started = []

    def popen(command, **options):  # the first worker is killed as it starts (as by the OOM killer)
        if "--worker" in command:
            started.append(command)
        if len(started) == 1 and "--worker" in command:
            command = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
        return real_popen(command, **options)

    real_popen = subprocess.Popen
    monkeypatch.setattr(search_command.subprocess, "Popen", popen)
    storage = f"journal:{tmp_path / 'study.log'}"
    assert main(["search", *QUICK, "--storage", storage, "--out", str(tmp_path), "--jobs", "2", "--trials", "3"]) == 1
    assert "worker 1 of 2 stopped with signal 9" in capfd.readouterr().err
    check_shared_search(storage, "mlp-digits", 3, 1)


def test_workers_get_every_option_of_the_search(tmp_path):
    parser = argparse.ArgumentParser()
    search_command.add_arguments(parser)
    given = parser.parse_args([*QUICK, "--param", "dropout=0:0.5", "--sampler", "tpe", "--grid-points", "4",
                               "--seed", "3", "--jobs", "2", "--trials", "5", "--storage", "journal:x.log"])
    worker = parser.parse_args(search_command._worker_arguments(given, "s", "journal:x.log", "out", 9))
    differ = {key for key in vars(given) if vars(given)[key] != vars(worker)[key]}
    assert differ == {"jobs", "trials", "total_trials", "resume", "worker", "study", "out"}
    # --worker N: the number of workers that share the cores
    assert (worker.jobs, worker.total_trials, worker.resume, worker.worker, worker.study) == (1, 9, True, 2, "s")


@pytest.mark.parametrize("arguments, message", [
    (["--jobs", "0"], "argument --jobs: must be a positive integer, got '0'"),
    (["--jobs", "2"], "--jobs 2 needs a storage that several processes can write at once: --storage journal:"),
    (["--storage", "mongodb://dbhost/db"], "(driver mongodb, host dbhost): SQLAlchemy has no driver called 'mongodb'"),
    (["--storage", "journal:/nonexistent/folder/s.log"], "cannot open the journal file /nonexistent/folder/s.log"),
    (["--resume"], "--resume: there is no search to continue in"),
    (["--trials", "2", "--total-trials", "4"], "argument --total-trials: not allowed with argument --trials"),
])
def test_bad_search_settings_are_one_line_and_status_2(tmp_path, capsys, arguments, message):
    out = tmp_path / "s"
    assert main(["search", *QUICK, "--out", str(out), *arguments]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and not any("Traceback" in line for line in err)
    assert not out.exists()


def test_a_missing_postgresql_driver_names_the_extra_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import psycopg2 now fails, as where it is not installed
    url = "postgresql://ann:secret@127.0.0.1:1/studies"
    assert main(["search", *QUICK, "--storage", url, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "postgresql://ann:***@127.0.0.1:1/studies (driver postgresql, host 127.0.0.1)" in err
    assert 'driver is not installed: pip install "gradwork[postgres]"' in err and "secret" not in err
    assert not (tmp_path / "s").exists()


def test_resuming_a_study_that_is_not_there_lists_those_that_are(tmp_path, capsys):
    storage = f"journal:{tmp_path / 'study.log'}"
    hs.open_study(storage, "first")
    hs.open_study(storage, "second")
    assert main(["search", *QUICK, "--storage", storage, "--study", "thrid", "--resume", "--out", str(tmp_path)]) == 2
    assert "cannot resume the study 'thrid': there is none of that name in journal:" in capsys.readouterr().err
    assert hs.study_names(hs.open_storage(storage)) == ["first", "second"]


# ----------------------------------------------------------------------------------------------------
# A real PostgreSQL server.

def _postgres_binary(name):
    """``initdb``/``pg_ctl`` on the PATH, or in Debian's /usr/lib/postgresql/VERSION/bin."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


def _as_server_user():
    """The command prefix and the account that run the server. initdb refuses root ("cannot be run as
    root"): as root (a CI container, this machine), run it as the unprivileged ``postgres`` or
    ``nobody`` through util-linux's ``runuser``."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    for name in ("postgres", "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if runuser:
            return [runuser, "-u", name, "--"], account
    pytest.skip("running as root, which initdb refuses, and there is no runuser and unprivileged account "
                "(postgres, nobody) to run the server as")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """A throwaway PostgreSQL server on a free localhost port, its data in a temporary folder, trust
    authentication for the ``postgres`` role; stopped (``pg_ctl stop -m immediate``) and removed at the
    end, also when a test fails. Yields the URL without a database name."""
    psycopg2 = pytest.importorskip("psycopg2", reason='the PostgreSQL driver is not installed: pip install '
                                                      '"gradwork[postgres]"')
    initdb, pg_ctl = _postgres_binary("initdb"), _postgres_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)")
    prefix, account = _as_server_user()
    folder = tempfile.mkdtemp(prefix="gradwork-postgres-")  # not under pytest's root-only tmp folder
    data, port = os.path.join(folder, "data"), _free_port()
    if account is not None:
        os.chown(folder, account.pw_uid, account.pw_gid)

    def run(*command):
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(initdb, "-D", data, "-U", "postgres", "--auth=trust")
        run(pg_ctl, "-D", data, "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
            "-l", os.path.join(folder, "log"), "start", "-w", "-t", "60")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        # pg_ctl may give up waiting while the server goes on starting: stop it before removing its folder
        subprocess.run([*prefix, pg_ctl, "-D", data, "stop", "-m", "immediate"], check=False, capture_output=True,
                       timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(error, "stderr", None) or getattr(error, "stdout", None) or str(error)
        raise RuntimeError(f"the test PostgreSQL server did not start: {detail}") from None
    try:
        yield psycopg2, f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "stop", "-m", "immediate"], check=False, capture_output=True,
                       timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server, request):
    """A new, empty database on the test server (no tables: the first search creates them)."""
    psycopg2, server = postgres_server
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name).lower()[:50]
    connection = psycopg2.connect(f"{server.replace('postgresql+psycopg2', 'postgresql')}/postgres")
    connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return f"{server}/{name}"


def test_two_workers_share_one_postgresql_study(postgres_url, tmp_path, capsys):
    assert main(["search", *QUICK, "--storage", postgres_url, "--study", "pg", "--out", str(tmp_path),
                 "--jobs", "2", "--trials", "6"]) == 0
    check_shared_search(postgres_url, "pg", 6, 2, capsys)


def test_machines_started_at_once_on_an_empty_database_share_the_study(postgres_url, tmp_path):
    """Three `gradwork search --storage URL --study NAME --total-trials N` started together, as on three
    machines: they race to create the tables and the study (the trap), and share the budget."""
    processes = [subprocess.Popen(**worker_command(*QUICK, "--storage", postgres_url, "--study", "race",
                                                   "--total-trials", "3", "--out", str(tmp_path / f"m{i}")))
                 for i in range(3)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    check_shared_search(postgres_url, "race", 3, 3)


def test_postgresql_bad_input_names_the_host_and_the_studies(postgres_url, tmp_path, capsys):
    hs.open_study(postgres_url, "kept")
    assert main(["search", *QUICK, "--storage", postgres_url, "--study", "lost", "--resume",
                 "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "cannot resume the study 'lost': there is none of that name in postgresql+psycopg2://postgres@" in err
    assert "(it holds 'kept')" in err
    unreachable = "postgresql+psycopg2://ann:secret@127.0.0.1:1/studies"  # port 1: nothing listens there
    assert main(["search", *QUICK, "--storage", unreachable, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "(driver postgresql+psycopg2, host 127.0.0.1): connection to server at" in err and "secret" not in err


def test_a_jobs_worker_takes_its_share_of_the_cores_for_blas(monkeypatch):
    """--worker N (set by --jobs N) gives this process's BLAS cores // N threads, through threadpoolctl:
    the thread environment variables are left as they are."""
    import threadpoolctl

    from gradwork import backend
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    limits = []
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda n, user_api: limits.append((n, user_api)))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    before = dict(os.environ)
    backend.share_blas_threads(2)
    backend.share_blas_threads(16)
    assert limits == [(4, "blas"), (1, "blas")] and dict(os.environ) == before
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # the user's own count wins
    backend.share_blas_threads(2)
    assert len(limits) == 2
