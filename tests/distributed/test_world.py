"""The MPI world as a process sees it before MPI starts: launcher variables, and a missing mpi4py."""
import sys

import numpy as np
import pytest

from gradwork import distributed, nn, optim, train
from gradwork.distributed import world
from gradwork.errors import MissingExtraError


@pytest.mark.parametrize("variable", ["PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"])
def test_a_launcher_is_recognised_by_its_world_size_variable(variable, monkeypatch):
    for name in world.WORLD_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched() and world.launched_world_size() == 1
    monkeypatch.setenv(variable, "4")
    assert distributed.launched() and world.launched_world_size() == 4
    monkeypatch.setenv(variable, "1")  # mpiexec -n 1: one process, as if no launcher had started it
    assert not distributed.launched()


def test_fit_distributed_without_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # an import of it now fails
    monkeypatch.setattr(world, "_comm", None)
    x, y = np.zeros((8, 2), np.float32), np.zeros(8, np.int64)
    model = nn.Linear(2, 2)
    with pytest.raises(MissingExtraError, match=r'pip install "gradwork\[mpi\]"'):
        train.fit(model, (x, y), loss="cross_entropy", optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
                  verbose=0, distributed=True)
