"""The market solver on blocks of buyers spread over processes and machines.

Best responses are separable across buyers, so a model too large for one machine splits into
blocks of buyers, each built and kept where it lives. The solver is the one of
:mod:`treemarket.ttp.market` (its coordinator loop over a transport); this package adds the
transports that reach other processes:

* :class:`DaskTransport`: one Dask actor per block, on the workers of a ``distributed.Client``;
  actors talk to the client directly, without a scheduler round trip per call.
* :class:`MPITransport`: one block per MPI rank (``mpiexec -n K+1 python -m
  treemarket.distributed --params ...``), prices broadcast and loads gathered by mpi4py.

and :func:`generated_blocks`, blocks whose buyers a study generator builds on the worker.
With the same blocks, every transport returns exactly the numbers of the serial one.
"""

from treemarket.distributed.blocks import GeneratedSource, generated_blocks
from treemarket.distributed.dask_transport import DaskTransport
from treemarket.distributed.mpi_transport import MPITransport, mpi_serve

__all__ = ["DaskTransport", "GeneratedSource", "MPITransport", "generated_blocks", "mpi_serve"]
