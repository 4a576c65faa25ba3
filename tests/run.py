"""`make test`: the suite as two pytest sessions side by side, one per core — the tests that run
the system across processes (faults, end to end, integration) and the rest — each with its own
throwaway RabbitMQ and PostgreSQL (tests/conftest.py: free ports, its own directory). A session
is mostly one Python process waiting on its services' greenthreads, so one session leaves a core
idle; two finish in little more than the longer one. The second session's output is printed when
it ends; the exit status fails if either failed. Arguments go to both (`-k`, `-x`…); to run one
file or directory, call pytest itself.

    python -m tests.run [pytest options]
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

SYSTEM = ("tests/faults", "tests/e2e", "tests/integration")


def main(argv: list[str]) -> int:
    python = sys.executable
    rest = [python, "-m", "pytest", *[f"--ignore={d}" for d in SYSTEM], *argv]
    system = [python, "-m", "pytest", *SYSTEM, *argv]
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as log:
        background = subprocess.Popen(system, stdout=log, stderr=subprocess.STDOUT)
        foreground = subprocess.Popen(rest)
        try:
            first = foreground.wait()
            second = background.wait()
        except KeyboardInterrupt:
            for process in (foreground, background):
                process.send_signal(signal.SIGINT)
            for process in (foreground, background):
                process.wait()
            raise
        log.seek(0)
        print(f"\n===== {' '.join(SYSTEM)} (run alongside) =====", flush=True)
        sys.stdout.write(log.read())
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    verdict = "passed" if first == second == 0 else "FAILED"
    print(f"\nmake test: both sessions {verdict} in {minutes} min {seconds} s", flush=True)
    return first or second


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
