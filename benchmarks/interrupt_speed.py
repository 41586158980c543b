"""How fast `kitbag batch` stops on Ctrl-C and SIGTERM (target: exit 130 / 143 within 5 s).

Starts the batch as a terminal would (own process group, signals at their defaults), waits until
a unit's notebook is running, signals the process group and prints the seconds until the run
exited, its exit code, and whether any process of the group was left. The tests check the exit
code and that nothing is published; the figure of time lives here.
Run: .venv/bin/python benchmarks/interrupt_speed.py [--children 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kitbag_analysis.failpoints import PAUSE_ENV, PAUSE_FILE_ENV
from kitbag_analysis.synthetic.generate import SynthSpec, write_study


def _terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _group_alive(pgid: int) -> int:
    alive = 0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            alive += int(fields[2]) == pgid and fields[0] != "Z"
    return alive


def once(study: Path, out: Path, sig: int) -> tuple[float, int, int]:
    marker = out.parent / f"paused-{out.name}"
    marker.unlink(missing_ok=True)
    run = subprocess.Popen(
        [sys.executable, "-m", "kitbag_analysis.cli", "batch", str(study), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_terminal,
        env=os.environ | {PAUSE_ENV: "batch:unit", PAUSE_FILE_ENV: str(marker)},  # held inside a unit
    )
    while not marker.exists():
        if run.poll() is not None:
            raise SystemExit("the batch ended before a notebook started")
        time.sleep(0.05)
    os.killpg(run.pid, sig)
    started = time.perf_counter()
    code = run.wait(timeout=120)
    seconds = time.perf_counter() - started
    time.sleep(0.5)
    return seconds, code, _group_alive(run.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study = write_study(Path(tmp) / "study", SynthSpec(seed=7, children=args.children))
        print(f"{'signal':<8} {'seconds to exit':>16} {'exit code':>10} {'processes left':>15}")
        for sig in (signal.SIGINT, signal.SIGTERM):
            for k in range(args.repeat):
                seconds, code, left = once(study, Path(tmp) / f"out-{sig}-{k}", sig)
                print(f"{signal.Signals(sig).name:<8} {seconds:>16.2f} {code:>10} {left:>15}")


if __name__ == "__main__":
    main()
