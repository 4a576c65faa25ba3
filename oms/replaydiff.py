"""`oms replay-diff SERVICE --ref GIT_REF`: how an operator checks a change to a service's reactions
before deploying it. The recorded logs of the service's upstreams are read from the running
system; the service's reactions run over them twice, each in a scratch store — this tree's code
and the code at GIT_REF (unpacked with `git archive`) — and every effect (a published event) that
differs is reported under the upstream event that caused it, field by field. Exit 1 if any
differs."""

import heapq
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from oms.console import err, pass_session, say
from shared.settings import ROOT, SERVICES

DRIVER = Path(__file__).with_name("replay.py")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VOLATILE = ("id", "sequence", "time", "previoussequence", "previousbytype")


@click.command(name="replay-diff")
@click.argument("service", type=click.Choice([s for s in SERVICES if s != "orders"]))
@click.option("--ref", required=True, help="the git commit, branch or tag to compare with")
@click.option("--repo", type=click.Path(exists=True, file_okay=False), default=str(ROOT),
              show_default=True, help="the git repository GIT_REF is in")  # fmt: skip
@click.option("--shown", type=int, default=50, show_default=True, help="differences shown")
@pass_session
def replay_diff(session, service, ref, repo, shown) -> int:
    """Replay SERVICE's reactions with this code and with GIT_REF's; report what would differ."""
    upstreams = _follows(service)
    events = _merged({u: _log(getattr(session.rpc, u)) for u in upstreams})
    say(f"{len(events)} events of {', '.join(upstreams)} to replay", console=err)
    with tempfile.TemporaryDirectory(prefix="oms-replay-") as scratch:
        scratch = Path(scratch)
        (scratch / "events.json").write_text(json.dumps(events))
        commit = _unpack(repo, ref, scratch / "tree")
        ours = _run(service, ROOT, scratch, "ours")
        theirs = _run(service, scratch / "tree", scratch, "theirs")
    known = {m for e in events for m in UUID.findall(json.dumps(e))}
    differences = compare(_by_cause(ours, known), _by_cause(theirs, known))
    causes = {e["id"]: e for e in events}
    say(
        (f"{service}: this tree against {ref} ({commit[:12]})", "bold"),
        f" — {len(events)} upstream events replayed, {len(ours)} effects here, {len(theirs)} there",
    )
    for cause, lines in differences[:shown]:
        upstream = causes.get(cause, {})
        say((f"{cause} {upstream.get('type', '')} {upstream.get('subject', '')}", "bold"))
        for line in lines:
            say(*line)
    if not differences:
        say(("no effect differs", "bold green"))
        return 0
    say((f"{len(differences)} upstream events lead to different effects", "bold red"))
    return 1


def _follows(service: str) -> tuple[str, ...]:
    from oms.serve import service_class

    return vars(service_class(service))["app"].app_class.follows


def _log(rpc) -> list[dict]:
    events, position = [], 0
    while True:
        page = rpc.events_page(position, 500)
        events += page["events"]
        position = page["scanned_to"]
        if not page["more"]:
            return events


def _merged(logs: dict[str, list[dict]]) -> list[dict]:
    """The upstreams' events as one stream: each log in its own order, the logs by time."""
    return list(heapq.merge(*logs.values(), key=lambda e: e["time"]))


def _unpack(repo: str, ref: str, into: Path) -> str:
    into.mkdir()
    try:
        commit = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", f"{ref}^{{commit}}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise click.BadParameter(f"{ref!r}: {exc.stderr.strip()}", param_hint="--ref") from None
    archive = subprocess.run(
        ["git", "-C", repo, "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit


def _run(service: str, tree: Path, scratch: Path, name: str) -> list[dict]:
    store = scratch / f"store-{name}"
    store.mkdir()
    driver = scratch / f"replay-{name}.py"
    shutil.copy(DRIVER, driver)
    out = scratch / f"effects-{name}.json"
    env = {**_environ(), "PYTHONPATH": str(tree), "OMS_VAR_DIR": str(store)}
    done = subprocess.run(
        [sys.executable, str(driver), service, str(scratch / "events.json"), str(out), str(store)],
        env=env, cwd=str(tree), capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise click.ClickException(f"the replay with {name} code failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def _environ() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}


def _by_cause(effects: list[dict], known: set[str]) -> dict[str, list[dict]]:
    """Effects per upstream event, with what changes from run to run taken out: ids, positions,
    times, and ids made up here (numbered in order of appearance instead)."""
    made: dict[str, str] = {}

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, str):
            return UUID.sub(
                lambda m: (
                    m[0] if m[0] in known else made.setdefault(m[0], f"<new {len(made) + 1}>")
                ),
                value,
            )
        return value

    grouped: dict[str, list[dict]] = {}
    for effect in effects:
        kept = {k: v for k, v in effect.items() if k not in VOLATILE and k != "causationid"}
        grouped.setdefault(effect["causationid"], []).append(plain(kept))
    return grouped


def compare(ours: dict, theirs: dict) -> list[tuple[str, list]]:
    """[(cause, lines)] for each upstream event whose effects differ."""
    found = []
    for cause in sorted(set(ours) | set(theirs), key=_position):
        here, there = ours.get(cause, []), theirs.get(cause, [])
        if here == there:
            continue
        lines = []
        for i in range(max(len(here), len(there))):
            a = here[i] if i < len(here) else None
            b = there[i] if i < len(there) else None
            if a == b:
                continue
            label = _label(a or b)
            if a is None or b is None:
                lines.append(
                    [
                        ("  + only with the ref:  " if a is None else "  - only here:  ", "yellow"),
                        label,
                    ]
                )
                continue
            lines.append([("  ≠ ", "red"), label])
            for path, x, y in _fields(a, b):
                lines.append(
                    [f"      {path}: ", (json.dumps(x), "red"), " → ", (json.dumps(y), "green")]
                )
        found.append((cause, lines))
    return found


def _label(effect: dict) -> str:
    data = effect.get("data") or {}
    name = data.get("number") or data.get("reference") or effect.get("subject")
    return f"{effect.get('type')} {name}"


def _fields(a, b, path: str = ""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from _fields(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _fields(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def _position(event_id: str) -> tuple:
    service, _, position = event_id.partition(":")
    return (service, int(position) if position.isdigit() else 0)
