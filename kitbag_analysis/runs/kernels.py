"""The kernel each worker keeps: started once, reused for every notebook it runs.

Kernel start-up and the analysis imports are most of a notebook's wall time; a worker pays them
once. The namespace is reset before each notebook (`%reset -f`). Kernels talk over IPC sockets
in their worker's private folder (no TCP port, no plain-text traffic warning) and die with their
worker: the kernel process gets a parent-death signal, and the worker shuts it down at exit (a
Dask task shuts its kernel down when it ends: no kernel outlives its task there).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
from pathlib import Path

from kitbag_analysis.errors import RunFailed

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"  # package data
PR_SET_PDEATHSIG = 1
_KERNEL: dict = {}


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no orphan keeps writing)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the run's cleanup still ends them
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def kernel():  # noqa: ANN201 - a jupyter_client KernelManager
    """This process's kernel (started on first use), its namespace reset."""
    from jupyter_client.manager import KernelManager

    from kitbag_analysis.runs.private_folder import process_folder

    if _KERNEL.get("stopped"):  # the run this process serves was stopped: no new kernel for it
        raise RunFailed("the run was stopped; no kernel is started for it")
    km = _KERNEL.get("km")
    if km is None or not km.is_alive():
        folder = process_folder()
        km = KernelManager(kernel_name="python3", transport="ipc")
        km.connection_file = str(folder / f"kernel-{os.getpid()}.json")
        # abstract IPC sockets (Linux): no socket file, and no limit from a long TMPDIR's path
        km.ip = f"@kitbag-kernel-{os.getpid()}-{folder.name.rsplit('-', 1)[-1]}"
        km.start_kernel(cwd=str(NOTEBOOK_DIR), preexec_fn=die_with_parent)
        atexit.register(shutdown)
        _KERNEL["km"] = km
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("%reset -f", timeout=60)
    finally:
        client.stop_channels()
    return km


def allow() -> None:
    """A new task of a run that was not stopped: kernels may start again."""
    _KERNEL.pop("stopped", None)


def kill_now() -> None:
    """Kill this process's kernel at once, from any thread (the run it serves was stopped): the
    notebook running in it fails now instead of running on to its end, and no kernel starts again
    until the next task (`allow`), so the task's next notebook cannot bring one back."""
    _KERNEL["stopped"] = True
    km = _KERNEL.get("km")
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None:
        with contextlib.suppress(OSError):
            process.kill()


def shutdown() -> None:
    """End this process's kernel now (a worker told to stop)."""
    km = _KERNEL.pop("km", None)
    if km is not None and km.is_alive():
        km.shutdown_kernel(now=True)


__all__ = ["NOTEBOOK_DIR", "die_with_parent", "kernel", "kill_now", "shutdown"]
