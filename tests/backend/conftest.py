import pytest

from gradwork import backend
from tests.backend.fake_device import NAME, FakeKind


@pytest.fixture
def fake_device():
    """The test-only device "fake" (see fake_device.py), registered for one test."""
    backend.register_device_kind(FakeKind())
    try:
        yield NAME
    finally:
        backend.unregister_device_kind(NAME)
