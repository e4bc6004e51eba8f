"""Execute report notebooks on a small pool of warm kernels and export each to its page.

Each worker thread keeps one Jupyter kernel for all the notebooks it runs: papermill injects the
parameters as usual (researchers re-run the same notebooks by hand), nbclient executes them on the
kept kernel, and between notebooks the kernel's namespace, pandas options and matplotlib settings
are reset (`analysis.publish.kernel.reset`) while its imports and the snapshot's tables stay loaded.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import queue
import shutil
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from tqdm.auto import tqdm

from analysis.paths import Paths, ProjectError
from analysis.publish.jobs import Job

RESET = "import analysis.publish.kernel\nanalysis.publish.kernel.reset()"
RESET_TIMEOUT = 120  # seconds for the reset (the first one imports pandas and matplotlib on a busy machine)
KERNEL = "python3"


class EncryptedKernelManager(AsyncKernelManager):
    """Kernels talk over CurveZMQ-encrypted sockets when both sides can (ipykernel ≥ 7.3 warns on
    every start otherwise); kernels that cannot fall back to the plain transport."""

    transport_encryption = "auto" if zmq.has("curve") else "disabled"


class WarmKernel:
    """One kernel, started on first use and kept for every notebook of one worker thread; replaced
    by a fresh one after a notebook that leaves it holding more than `memory_mb` megabytes."""

    def __init__(self, cwd: Path, memory_mb: int | None = None) -> None:
        self.cwd, self.memory_mb = cwd, memory_mb
        self.km = EncryptedKernelManager(kernel_name=KERNEL)
        self.kc = None

    def recycle_if_large(self) -> bool:
        """Shut the kernel down when its resident memory exceeds the limit; the next notebook starts
        a new one. Returns whether it did."""
        import psutil

        pid = getattr(self.km.provisioner, "pid", None) if self.km.has_kernel else None
        if self.memory_mb is None or pid is None:
            return False
        try:
            rss = psutil.Process(pid).memory_info().rss
        except psutil.Error:
            return False
        if rss <= self.memory_mb * 2**20:
            return False
        self.shutdown()
        self.km, self.kc = EncryptedKernelManager(kernel_name=KERNEL), None
        return True

    def execute(self, notebook: nbformat.NotebookNode, timeout: int, started: list[int]) -> None:
        """Run every cell of `notebook` in place, after a reset; `started` collects the index of each
        cell sent."""
        self.run_code(RESET, max(timeout, RESET_TIMEOUT))  # imports on a fresh kernel: not the notebook's cell_timeout
        self._run(notebook, timeout, started)

    def run_code(self, code: str, timeout: int) -> None:
        """Run `code` in the kernel as a cell of its own (e.g. the page export after a notebook)."""
        self._run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), timeout, [])

    def _run(self, notebook: nbformat.NotebookNode, timeout: int, started: list[int]) -> None:
        client = NotebookClient(
            notebook, km=self.km, timeout=timeout, kernel_name=KERNEL, record_timing=False,
            resources={"metadata": {"path": str(self.cwd)}},
            on_cell_execute=lambda cell, cell_index: started.append(cell_index),
        )
        client.kc = self.kc  # not a constructor argument; None: the client starts the kernel and a client
        try:
            client.execute(cleanup_kc=False)
        finally:
            self.kc = client.kc
            atexit.unregister(client._cleanup_kernel)  # shutdown() stops the kernel, never a SIGINT at exit

    def kill(self) -> None:
        """SIGKILL the kernel process, from any thread, even while it starts. Never SIGINT (what
        jupyter_client's shutdown sends first): a kernel still importing prints a traceback for it."""
        pid = getattr(self.km.provisioner, "pid", None) if self.km.has_kernel else None
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def shutdown(self) -> None:
        """Stop the kernel now (no graceful wait: nothing of it is needed any more)."""
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            self.kc.stop_channels()
        self.kill()
        if self.km.has_kernel:
            run_sync(self.km.shutdown_kernel)(now=True)
        _cancel_pending_tasks()


def _cancel_pending_tasks() -> None:
    """Cancel what is left in this thread's event loop (the one nbclient runs in): after a cell
    timeout nbclient leaves its output reader pending, which asyncio reports at exit ("Task was
    destroyed but it is pending!")."""
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def execute_job(paths: Paths, job: Job, staging: Path, timeout: int, kernel: WarmKernel) -> Path:
    """Parameterise (papermill) and run one notebook on `kernel` into `staging`, each cell for at
    most `timeout` seconds; write it reproducibly (no timings, fixed cell ids and counts).

    A cell that raises, hangs or kills the kernel ends the run with one line naming notebook, cell
    and what happened; the executed notebook is kept under reports/failed/.
    """
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    out = staging / job.executed
    out.parent.mkdir(parents=True, exist_ok=True)
    notebook = load_notebook_node(str(paths.notebooks / job.notebook))
    notebook = parameterize_notebook(notebook, job.parameters, kernel_name=KERNEL, language="python")
    notebook.metadata.setdefault("papermill", {}).update(
        parameters=job.parameters, input_path=str(paths.notebooks / job.notebook),
        output_path=str(paths.reports / job.executed),
    )
    started: list[int] = []  # index of each cell sent to the kernel
    try:
        kernel.execute(notebook, timeout, started)
    except CellExecutionError as exc:
        raise _failure(paths, job, notebook, out, f"cell {_count(notebook, started)} raised {exc.ename}: "
                       f"{_first_line(exc.evalue)}") from None
    except CellTimeoutError:
        what = f"cell {_count(notebook, started)} timed out after {timeout} s (cell_timeout in params/report.yaml)"
        raise _failure(paths, job, notebook, out, what) from None
    except DeadKernelError:
        what = f"cell {_count(notebook, started)}: kernel died (crashed or ran out of memory)"
        raise _failure(paths, job, notebook, out, what) from None
    _write_reproducible(notebook, out)
    return out


def _count(notebook: nbformat.NotebookNode, started: list[int]) -> int:
    """The failing cell as its execution count in a fresh kernel: its place among code cells."""
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    return code.index(started[-1]) + 1 if started else 0


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _failure(paths: Paths, job: Job, notebook: nbformat.NotebookNode, executed: Path, what: str) -> ProjectError:
    """Keep the executed notebook under reports/failed/ and say what went wrong, on one line."""
    _write_reproducible(notebook, executed)
    failed = paths.reports / "failed" / Path(job.executed).name
    failed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, failed)
    return ProjectError(f"{paths.notebooks / job.notebook} ({job.page}): {what}; executed notebook kept at {failed}")


def _write_reproducible(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write an executed notebook without what differs between runs of the same inputs: timings,
    random cell ids, and execution counts that depend on which warm kernel ran it before."""
    count = 0
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count if cell.get("outputs") is not None else None
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = count
    nbformat.write(notebook, path)


def _stop(kernels: list[WarmKernel], finished: list[threading.Event]) -> None:
    """Kill the kernels (they run in sessions of their own: Ctrl-C does not reach them); each worker
    then sees its kernel die, shuts down and sets its `finished` event. Waits for every worker, a
    further Ctrl-C included. Not `Thread.is_alive()`: after Ctrl-C interrupted a `join()`, CPython
    3.11 marks the still-running thread as stopped (bpo-45274), and the kernel it was starting would
    outlive the run (nbclient's exit hook then sends it SIGINT: a KeyboardInterrupt traceback)."""
    while not all(done.is_set() for done in finished):  # again and again: a kernel may be starting
        for kernel in list(kernels):
            kernel.kill()
        with contextlib.suppress(KeyboardInterrupt):
            for done in finished:
                done.wait(timeout=0.5)


def execute_all(
    paths: Paths, todo: list[Job], staging: Path, workers: int, timeout: int,
    finish: Callable[[Job, Path, WarmKernel], None], memory_mb: int | None = None,
) -> None:
    """Run the notebooks on `workers` warm kernels (each replaced when it holds more than
    `memory_mb`); `finish(job, executed, kernel)` runs after each (the page export, in the same
    kernel so that exports run in parallel too). After a failure no notebook starts; those running
    finish, then the failure is raised. Ctrl-C stops the kernels and waits for the workers to end
    (no thread left talking to a dead kernel at exit), then raises KeyboardInterrupt."""
    if not todo:
        return
    jobs: queue.Queue[Job] = queue.Queue()
    for job in todo:
        jobs.put(job)
    failures: list[BaseException] = []
    kernels: list[WarmKernel] = []
    lock = threading.Lock()
    bar = tqdm(total=len(todo), unit="report")

    def work(finished: threading.Event) -> None:
        kernel = WarmKernel(paths.notebooks, memory_mb)
        kernels.append(kernel)
        try:
            while not failures:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    return
                finish(job, execute_job(paths, job, staging, timeout, kernel), kernel)
                kernel.recycle_if_large()
                with lock:
                    bar.set_postfix_str(job.page)
                    bar.update()
        except BaseException as exc:
            failures.append(exc)
        finally:
            try:
                kernel.shutdown()
            finally:
                finished.set()

    finished: list[threading.Event] = []  # one per started worker, set when it has shut its kernel down
    try:
        for _ in range(min(workers, len(todo))):
            done = threading.Event()
            threading.Thread(target=work, args=(done,), daemon=True).start()
            finished.append(done)
        for done in finished:
            done.wait()
    except KeyboardInterrupt:
        failures.append(KeyboardInterrupt())  # no notebook starts any more
        _stop(kernels, finished)
        raise
    finally:
        bar.close()
    if failures:
        raise failures[0]
