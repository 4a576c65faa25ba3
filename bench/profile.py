"""Where each service's CPU goes under load: py-spy sampling every service process (`--profile`).

`py-spy record --format raw` writes collapsed stacks (`frame;frame;… count`, a frame being
`function (file:line)`). Two views of them per service: the leaf functions that were on the CPU
(self time, by library), and the project's own functions with everything they called (inclusive
time), which is what a change to our code can win back.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 100  # samples per second
OURS = ("shared/", "services/", "oms/")


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy attached to each service process while it runs; `stop()` has them write their stacks."""

    def __init__(self, pids: dict[str, int], directory: Path):
        self.pids, self.directory = pids, directory
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("--profile needs py-spy (pip install -e '.[bench]')")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            self.procs[name] = subprocess.Popen(
                [binary, "record", "--pid", str(pid), "--format", "raw", "--rate", str(RATE)]
                + ["--nonblocking", "--output", str(self.path(name))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.txt"

    def stop(self) -> dict[str, dict]:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {name: summarise(self.path(name)) for name in self.procs if self.path(name).exists()}


def _frame(text: str) -> tuple[str, str]:
    """`function (path:line)` -> (function, short path)."""
    name, _, where = text.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        root = str(Path(__file__).resolve().parent.parent) + os.sep
        path = path.removeprefix(root)
    return name or text, path


def summarise(path: Path, top: int = 12) -> dict:
    """{samples, self: [(share, frame)], ours: [(share, frame)], libraries: [(share, library)]}"""
    leaf, ours, libraries, total = Counter(), Counter(), Counter(), 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, frames = int(count), [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        name, where = frames[-1]
        leaf[f"{name} ({where})"] += n
        libraries[_library(where)] += n
        for own in {f"{fn} ({p})" for fn, p in frames if p.startswith(OURS)}:
            ours[own] += n

    def share(counts: Counter) -> list:
        return [(round(100 * k / total, 1), name) for name, k in counts.most_common(top)]

    return {
        "samples": total,
        "self": share(leaf),
        "ours": share(ours),
        "libraries": share(libraries),
    }


def _library(where: str) -> str:
    if where.startswith(OURS):
        return "ours"
    head = where.split("/", 1)[0]
    return head.removesuffix(".py") if head else where


def render(profiles: dict[str, dict]) -> list[str]:
    lines = [
        "",
        f"py-spy, {RATE} samples/s on CPU, full load (share of each process's samples, %):",
    ]
    for name, p in profiles.items():
        if not p["samples"]:
            continue
        libs = ", ".join(f"{lib} {pct}" for pct, lib in p["libraries"][:8])
        lines += ["", f"{name} ({p['samples']} samples) by library: {libs}"]
        lines.append("  self: " + "; ".join(f"{pct} {f}" for pct, f in p["self"][:8]))
        lines.append("  ours, inclusive: " + "; ".join(f"{pct} {f}" for pct, f in p["ours"][:10]))
    return lines
