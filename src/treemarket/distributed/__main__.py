"""``mpiexec -n K+1 python -m treemarket.distributed --generator forecast --params JSON``: the
market solver with one block per rank > 0; rank 0 prints the JSON result."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from treemarket.distributed.blocks import generated_blocks
from treemarket.distributed.mpi_transport import MPITransport, mpi_serve
from treemarket.ttp.market import MarketOptions, solve_blocks


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments; serve a block on ranks > 0, coordinate on rank 0."""
    from mpi4py import MPI

    parser = argparse.ArgumentParser(prog="python -m treemarket.distributed")
    parser.add_argument("--generator", default="forecast")
    parser.add_argument("--params", default="{}", help="the generator's parameters (JSON)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iterations", type=int, default=MarketOptions.max_iterations)
    parser.add_argument("--target-gap", type=float, default=MarketOptions.target_gap)
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    if comm.Get_rank() != 0:
        mpi_serve(comm)
        return 0
    if comm.Get_size() < 2:
        print("run with mpiexec -n K+1 (K blocks)", file=sys.stderr)
        return 2
    specs = generated_blocks(
        args.generator, json.loads(args.params), args.seed, comm.Get_size() - 1
    )
    transport = MPITransport(comm, specs)
    try:
        options = MarketOptions(max_iterations=args.max_iterations, target_gap=args.target_gap)
        result = solve_blocks(transport, options)
    finally:
        transport.close()
    sys.stdout.write(json.dumps(result.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
