"""The market solver on blocks: serial / Dask / MPI transports give the same bounds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from treemarket.distributed import DaskTransport, generated_blocks
from treemarket.study.generators import forecast_model
from treemarket.testing import assignment_violations, random_model
from treemarket.ttp import solve_exact
from treemarket.ttp.exact import expected_welfare
from treemarket.ttp.market import MarketOptions, SerialTransport, model_blocks, solve_blocks

OPTIONS = MarketOptions(max_iterations=200)
FORECAST = {"buyers": 60, "horizon": 4, "accuracy": 0.8, "supply": 3}


@pytest.mark.parametrize("seed", range(4))
def test_blocks_give_certified_bounds_and_a_feasible_assignment(seed: int) -> None:
    model = random_model(np.random.default_rng(seed), horizon=3, buyers=14, supply=(1, 3))
    transport = SerialTransport(model_blocks(model, 3))
    result = solve_blocks(transport, OPTIONS)
    transport.close()
    optimum = solve_exact(model, price_ranges=False).welfare
    assert result.welfare <= optimum + 1e-9 <= result.dual_bound + 2e-9
    y = np.vstack(
        [
            p.dense(b.model)
            for p, b in zip(transport.call("purchases"), transport.blocks, strict=True)
        ]
    )
    assert assignment_violations(model, y) == []
    assert expected_welfare(model, y) == pytest.approx(result.welfare, abs=1e-9)


def test_forecast_blocks_are_generated_alone() -> None:
    whole = forecast_model(3, {**FORECAST, "buyers": 700})  # three chunks of buyers
    parts = [
        forecast_model(3, {**FORECAST, "buyers": 700}, buyer_range=r)
        for r in ((0, 100), (100, 513), (513, 700))
    ]
    assert np.array_equal(np.vstack([p.scenario_values for p in parts]), whole.scenario_values)
    smaller = forecast_model(3, {**FORECAST, "buyers": 5})
    assert np.array_equal(smaller.scenario_values, whole.scenario_values[:5])


def test_two_dask_workers_give_the_same_bounds_as_the_serial_run() -> None:
    from distributed import Client

    from treemarket.study.runner import local_cluster

    specs = generated_blocks("forecast", FORECAST, seed=1, blocks=2)
    serial = solve_blocks(SerialTransport(specs), OPTIONS)
    with local_cluster(2) as cluster, Client(cluster) as client:
        transport = DaskTransport(client, specs)
        holders = client.who_has(transport._futures)
        hosts = {w for workers in holders.values() for w in workers}
        distributed = solve_blocks(transport, OPTIONS)
        transport.close()
    assert len(hosts) == 2  # one block on each worker
    assert distributed.transport == "dask" and distributed.blocks == 2
    assert (distributed.welfare, distributed.dual_bound, distributed.iterations) == (
        serial.welfare,
        serial.dual_bound,
        serial.iterations,
    )
    assert np.array_equal(distributed.price, serial.price)
    assert distributed.welfare <= distributed.dual_bound


def _mpiexec() -> str:
    """The MPICH launcher installed beside the interpreter (a dependency), else on the PATH."""
    local = Path(sys.executable).with_name("mpiexec")
    found = str(local) if local.exists() else shutil.which("mpiexec")
    assert found is not None, "mpiexec is missing: make install provides it (mpich)"
    return found


def test_two_mpi_ranks_give_the_same_bounds_as_the_serial_run() -> None:
    specs = generated_blocks("forecast", FORECAST, seed=1, blocks=2)
    serial = solve_blocks(SerialTransport(specs), OPTIONS)
    command = [
        _mpiexec(),
        "-n",
        "3",
        sys.executable,
        "-m",
        "treemarket.distributed",
        "--params",
        json.dumps(FORECAST),
        "--seed",
        "1",
        "--max-iterations",
        "200",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["transport"] == "mpi" and result["blocks"] == 2
    assert (result["welfare"], result["upper_bound"], result["iterations"]) == (
        serial.welfare,
        serial.dual_bound,
        serial.iterations,
    )
