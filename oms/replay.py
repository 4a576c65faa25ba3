"""Run one service's reactions over recorded upstream events in a scratch store and write what
they published: `python oms/replay.py SERVICE EVENTS.json EFFECTS.json STORE_DIR`, with the code
to try first on `sys.path` (`oms replay-diff` runs it once with this tree and once with another
version's, unpacked from git). It only uses what every version of a service has: its service
class, its application's `handle` and `events_page`. It opens no client's personal data (a scratch
replay asks orders for no key): what a reaction renders names "forgotten client", alike in both
runs."""

import json
import sys


def replay(service: str, events: list[dict], store_dir: str) -> list[dict]:
    from eventsourcing.persistence import Tracking

    from oms.serve import service_class
    from shared import context
    from shared.settings import Settings

    app_class = vars(service_class(service))["app"].app_class
    app = app_class(f"sqlite:///{store_dir}/{service}.sqlite3", Settings.load())
    if hasattr(app, "keyring"):  # a scratch replay opens no client's details: all "forgotten"
        from shared.sealing import Keyring

        app.keyring = Keyring(lambda subjects: {})
    failures = []
    for env in events:
        upstream = env["type"].split(".", 1)[0]
        with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
            try:
                # (code older than segmented streams tracks each upstream under its name)
                if hasattr(app, "tracking_for"):
                    app.handle(env, app.tracking_for(upstream, env))
                else:
                    app.handle(env, Tracking(upstream, env["sequence"]))
            except Exception as exc:  # noqa: BLE001 - a reaction that fails is an effect too
                failures.append({"causationid": env["id"], "type": "failed", "error": repr(exc)})
    effects, position = [], 0
    while True:
        page = app.events_page(position, 500)
        effects += page["events"]
        position = page["scanned_to"]
        if not page["more"]:
            break
    return effects + failures


def main(argv: list[str]) -> None:
    import eventlet

    eventlet.monkey_patch()
    service, events_path, out_path, store_dir = argv
    with open(events_path) as file:
        events = json.load(file)
    with open(out_path, "w") as file:
        json.dump(replay(service, events, store_dir), file)


if __name__ == "__main__":
    main(sys.argv[1:])
