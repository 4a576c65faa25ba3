"""Fault-injection switches for the fault tests. Off unless `OMS_FAULTS` (JSON) or a test sets them.

`{"crash_before_publish": ["order_accepted"]}`: the relay SIGKILLs its own process just before
publishing the first event of that name (after it was saved).
`{"fail_reaction": ["<subject id>"]}`: a follower's reaction to an event about that subject raises;
`"<event type>:<subject id>"` (e.g. `orders.order_accepted:3f0c…`) fails only that type.
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


def fail_reaction(env: dict) -> None:
    failing = _active.get("fail_reaction", ())
    if env["subject"] in failing or f"{env['type']}:{env['subject']}" in failing:
        raise InjectedFault(f"injected failure reacting to {env['type']} of {env['subject']}")
