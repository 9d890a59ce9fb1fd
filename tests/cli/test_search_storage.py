"""`gradwork search --storage URL`: a URL that is malformed, names an unknown or missing driver, or
points at a database that cannot be reached is one line naming the driver and the host (never the
password), and leaves no empty output folder behind."""
import sys

import pytest
import sqlalchemy.exc

from gradwork.cli import search as search_command
from gradwork.cli.main import main
from gradwork.tools import search


@pytest.mark.parametrize("url, message", [
    ("notaurl", "the storage 'notaurl' is not a database URL; give one such as sqlite:///study.db"),
    ("foo://dbhost/db", "(driver foo, host dbhost): SQLAlchemy has no driver called 'foo'"),
    ("sqlite:////nonexistent/folder/study.db",
     "(driver sqlite, file /nonexistent/folder/study.db): unable to open database file; check that the folder"),
])
def test_a_bad_storage_url_is_one_line_naming_driver_and_host(tmp_path, capsys, url, message):
    out = tmp_path / "search"
    assert main(["search", "--trials", "1", "--epochs", "1", "--storage", url, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and not any("Traceback" in line for line in err)
    assert not out.exists()


def test_a_missing_driver_package_is_named_and_the_password_hidden(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sqlalchemy")
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if not installed: importing it raises ImportError
    url = "postgresql://ann:secret@127.0.0.1:1/studies"
    assert main(["search", "--trials", "1", "--epochs", "1", "--storage", url, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "postgresql://ann:***@127.0.0.1:1/studies (driver postgresql, host 127.0.0.1)" in err
    assert "is not installed" in err and "secret" not in err


def test_an_unreachable_server_names_the_host():
    refused = sqlalchemy.exc.OperationalError("connect", {}, Exception('connection to server at "db.example" '
                                                                       'failed: Connection refused'))
    error = search.storage_error("postgresql://ann:secret@db.example:5432/studies", refused)
    text = str(error)
    assert "(driver postgresql, host db.example)" in text and "Connection refused" in text
    assert "check that the database server runs and can be reached" in text and "secret" not in text


def test_the_command_lists_the_samplers_of_the_library():
    assert search_command.SAMPLERS == search.SAMPLERS
