"""A liveness guard for long-running loops that talk to the network (followers): the work runs in
a child greenthread and reports progress with `beat()`; when it has made none for too long, it is
killed and its owner starts it again. Socket calls on a half-open connection (no FIN, no RST ever
comes) can block for good: py-amqp waits for `Close-Ok` or a publisher confirm with no timeout.
"""

import time

import eventlet
from greenlet import GreenletExit

from shared import logging as oms_logging

log = oms_logging.get("watchdog")


class Watched:
    def __init__(self, name: str, stuck_after: float):
        self.name, self.stuck_after = name, stuck_after
        self._beat = time.monotonic()

    def beat(self) -> None:
        """The work is alive and moving (call it at least every `stuck_after` seconds)."""
        self._beat = time.monotonic()

    def silent_for(self) -> float:
        """Seconds since the last beat (the liveness probe compares it with `stuck_after`)."""
        return time.monotonic() - self._beat

    def run(self, work) -> None:
        """Run `work()` until it returns or raises (re-raised); kill it if it stops beating
        (GreenletExit is then raised here, for the owner to start it again)."""
        self.beat()
        child = eventlet.spawn(work)
        try:
            while not child.dead:
                eventlet.sleep(min(1.0, self.stuck_after / 4))
                silent = self.silent_for()
                if silent > self.stuck_after and not child.dead:
                    log.warning("stuck_work_killed", work=self.name, silent_seconds=round(silent))
                    child.kill()
            child.wait()
        except GreenletExit:
            if child.dead:
                raise Stuck(self.name) from None
            raise
        finally:
            if not child.dead:  # the owner itself is being killed (the container stops)
                child.kill()


class Stuck(Exception):
    """The watched work made no progress for too long and was killed."""
