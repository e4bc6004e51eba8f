"""Per-plan work of the stages (read/extract, clean, structure) on a dask.distributed cluster.

`python -m analysis run --scheduler ADDRESS` (or ANALYSIS_SCHEDULER) maps every plan to a task of
the scheduler at ADDRESS and gathers the results in plan order; the tables are then built and
written by this process exactly as in a local run, so data/processed is byte-identical.

Shared-path rule: every worker sees the project root at the same path as the process that runs
`run`. A task reads its raw plan from there and checks the bytes against the manifest's SHA-256,
so a worker that sees another copy of the project stops the run with one line instead of
computing from it. dask is imported only here, and only when a scheduler is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.corpus.manifest import Plan
from analysis.corpus.reader import PlanReader
from analysis.params import Params
from analysis.params.clean import CleanParams
from analysis.paths import ProjectError
from analysis.stages.dataset import CorpusTables, PlanMapper, StructuredPlan, structure_corpus, structure_plan

if TYPE_CHECKING:
    from distributed import Client

SHARED_PATH_RULE = "every dask worker must see the project root at the same path as the run (README: dask cluster)"


def structure_on_worker(plan: Plan, raw_dir: Path, clean_rules: CleanParams, reader: PlanReader) -> StructuredPlan:
    """One task: read the plan from the shared path, check it is the manifest's file, structure it."""
    path = raw_dir / plan.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: worker {socket.gethostname()} cannot read it ({exc.strerror}); "
                           f"{SHARED_PATH_RULE}") from None
    if hashlib.sha256(data).hexdigest() != plan.sha256:
        raise ProjectError(f"{path}: on worker {socket.gethostname()} this file differs from the manifest's "
                           f"sha256; {SHARED_PATH_RULE}")
    return structure_plan(plan, raw_dir, clean_rules, reader, data)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (dask's can run over several), or its type."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def cluster_mapper(client: Client, address: str) -> PlanMapper:
    """A `structure_corpus` mapper: one task per plan on `client`'s cluster, results in plan order.
    A task lost with its worker is rerun by the scheduler (up to distributed.scheduler.allowed-failures)."""
    from distributed import KilledWorker

    def map_plans(plans: list[Plan], raw_dir: Path, clean_rules: CleanParams,
                  reader: PlanReader) -> list[StructuredPlan]:
        futures = client.map(structure_on_worker, plans, raw_dir=raw_dir, clean_rules=clean_rules, reader=reader)
        try:
            return client.gather(futures)
        except KilledWorker as exc:
            raise ProjectError(f"{address}: a plan's task was lost with its worker too often ({first_line(exc)}); "
                               "check the workers' memory and logs, then run again") from None
        except OSError as exc:
            raise ProjectError(f"{address}: lost the dask scheduler during the run ({first_line(exc)}); "
                               "nothing was published, run again") from None
        finally:
            client.cancel(futures)

    return map_plans


async def probe(address: str, timeout: str) -> None:
    """Open and close one connection to `address` (OSError when nothing answers within `timeout`)."""
    from dask.utils import parse_timedelta
    from distributed.comm import connect

    comm = await connect(address, timeout=parse_timedelta(timeout))
    await comm.close()


@contextmanager
def connected(address: str) -> Iterator[Client]:
    """A Client of the scheduler at `address` with at least one worker, closed afterwards; a scheduler
    that cannot be reached in time (distributed.comm.timeouts.connect) is one ProjectError line."""
    import dask
    from distributed import Client

    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:  # a probe first: a Client that failed to connect prints a traceback when it is collected
        asyncio.run(probe(address, timeout))
    except (OSError, ValueError, TypeError) as exc:
        raise ProjectError(f"{address}: cannot reach the dask scheduler ({first_line(exc)}); start one (`dask "
                           f"scheduler`, then `dask worker {address}` on each machine) or run without --scheduler "
                           "and ANALYSIS_SCHEDULER") from None
    client = Client(address, set_as_default=False, timeout=timeout)
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError) as exc:
            raise ProjectError(f"{address}: the dask scheduler has no worker ({first_line(exc)}); "
                               f"start `dask worker {address}` on each machine") from None
        yield client
    finally:
        client.close()


def structure_corpus_on(address: str, raw_dir: Path, params: Params) -> CorpusTables:
    """`structure_corpus` with the per-plan work on the dask scheduler at `address` (the tasks get
    the absolute path of data/raw: a worker's current folder is its own)."""
    with connected(address) as client:
        return structure_corpus(raw_dir.absolute(), params, map_plans=cluster_mapper(client, address))
