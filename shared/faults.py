"""Fault-injection switches for the fault tests. Off unless `OMS_FAULTS` (JSON) or a test sets them.

`{"crash_before_publish": ["order_accepted"]}`: the relay SIGKILLs its own process just before
publishing the first event of that name (after it was saved).
`{"fail_reaction": ["<subject id>"]}`: a follower's reaction to an event about that subject raises.
"""

import json
import os
import signal

_active: dict[str, list[str]] = json.loads(os.environ.get("OMS_FAULTS") or "{}")


class InjectedFault(RuntimeError):
    pass


def set_fault(name: str, values: list[str]) -> None:
    _active[name] = list(values)


def clear() -> None:
    _active.clear()


def crash_before_publish(event_name: str) -> None:
    if event_name in _active.get("crash_before_publish", ()):
        os.kill(os.getpid(), signal.SIGKILL)


def fail_reaction(subject: str) -> None:
    if subject in _active.get("fail_reaction", ()):
        raise InjectedFault(f"injected failure reacting to {subject}")
