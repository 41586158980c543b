"""`make lab`'s JupyterLab: the server starts headless, answers /api/status and lists the
project's kernel; stopped within the test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_jupyterlab_starts_with_the_kitbag_kernel(tmp_path: Path) -> None:
    python = sys.executable
    prefix = tmp_path / "elsewhere"  # a prefix on the JUPYTER_PATH of a Jupyter outside the venv
    subprocess.run(
        [python, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", "kitbag", "--display-name", "Kitbag"],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    port, token = _free_port(), "kitbag-test-token"
    server = subprocess.Popen(
        [
            python,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ROOT / 'notebooks'}",
            f"--ServerApp.runtime_dir={tmp_path}",
            "--allow-root",  # CI and the sandboxes run as root
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 60
        while True:
            try:
                status = _get(f"{base}/status?token={token}")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        assert "started" in status
        specs = _get(f"{base}/kernelspecs?token={token}")["kernelspecs"]
        assert specs["kitbag"]["spec"]["display_name"] == "Kitbag"
        notebook = json.loads((ROOT / "notebooks" / "explore.ipynb").read_text())
        assert notebook["metadata"]["kernelspec"]["name"] in specs  # the notebooks open on it
    finally:
        server.terminate()
        server.wait(timeout=30)
