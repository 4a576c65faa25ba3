"""The watchdog that restarts a follower blocked for good on a dead connection."""

import eventlet
import pytest

from shared.watchdog import Stuck, Watched


def test_work_that_stops_beating_is_killed_and_reported_stuck():
    watched, reached = Watched("blocked", stuck_after=0.3), []

    def blocked():
        reached.append("start")
        eventlet.sleep(3600)  # as a read on a half-open socket would
        reached.append("never")

    with eventlet.Timeout(5):
        with pytest.raises(Stuck):
            watched.run(blocked)
    assert reached == ["start"]


def test_work_that_beats_runs_to_its_end_and_its_errors_reach_the_owner():
    watched = Watched("busy", stuck_after=0.3)

    def busy():
        for _ in range(10):
            eventlet.sleep(0.1)  # 1 s in all: longer than stuck_after, but it keeps beating
            watched.beat()
        return "done"

    watched.run(busy)

    def failing():
        raise ValueError("the broker went away")

    with pytest.raises(ValueError):
        watched.run(failing)


def test_killing_the_owner_kills_the_work():
    watched, reached = Watched("owned", stuck_after=60), []

    def work():
        try:
            eventlet.sleep(3600)
        finally:
            reached.append("killed")

    owner = eventlet.spawn(watched.run, work)
    eventlet.sleep(0.1)
    owner.kill()
    eventlet.sleep(0.1)
    assert reached == ["killed"]
