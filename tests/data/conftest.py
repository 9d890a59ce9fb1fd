import pytest

from gradwork.data.datasets import locate


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No real data anywhere: empty home, no GRADWORK_DATA, an empty system folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRADWORK_DATA", raising=False)
    monkeypatch.setattr(locate, "SYSTEM_DIR", str(tmp_path / "system"))
    return tmp_path
