"""`oms document`: a document's PDF from the service that issued it, and the check anyone can
make later — render it again from the events and compare its SHA-256 with the one the issuing
event recorded."""

import base64
import hashlib
from pathlib import Path

import click

from oms.console import pass_session, say
from shared.documents import ISSUED_BY
from shared.errors import NotFound

REVISED = ("confirmation", "work_sheet")  # revised as what they show changes


@click.group()
def document() -> None:
    """A document's PDF, and the check that it renders again to the SHA-256 its event recorded."""


KIND = click.Choice(sorted(ISSUED_BY))
REVISION = click.option(
    "--revision", type=int, help="one revision (default: get the current, verify every one)"
)


@document.command()
@click.argument("kind", type=KIND)
@click.argument("document_id", metavar="ID")
@REVISION
@click.option("--out", "-o", help="the file to write (default: its name)")
@pass_session
def get(session, kind, document_id, revision, out) -> int:
    """Write a document's PDF (the current revision, issued now if what it shows changed)."""
    answer = _document(session.rpc, kind, document_id, revision)
    path = Path(out or answer["filename"])
    path.write_bytes(base64.b64decode(answer["content"]))
    say(f"{path}: {answer['kind']} {answer['number']}, sha256 {answer['sha256']}")
    return 0


@document.command()
@click.argument("kind", type=KIND)
@click.argument("document_id", metavar="ID")
@REVISION
@pass_session
def verify(session, kind, document_id, revision) -> int:
    """Render every issued revision of a document again and compare it with the SHA-256 its
    issuing event recorded; exit 1 if any differs."""
    return verify_document(session.rpc, kind, document_id, revision)


def verify_document(rpc, kind: str, document_id: str, revision: int | None) -> int:
    """What `oms document verify` does, over any `rpc` (the running services, or in process)."""
    revisions = [revision] if revision else _revisions(kind)
    checked = failed = 0
    for number in revisions:
        try:
            answer = _document(rpc, kind, document_id, number)
        except NotFound:
            if checked:
                break
            raise
        checked += 1
        rendered = hashlib.sha256(base64.b64decode(answer["content"])).hexdigest()
        name = f"{answer['kind']} {answer['number']}"
        if answer["sha256"] is None:
            say(
                ("unverifiable", "yellow"),
                f"  {name}: issued before documents recorded their SHA-256",
            )
        elif answer.get("layout") != answer.get("renderer_layout"):
            say(
                ("unverifiable", "yellow"),
                f"  {name}: issued under layout {answer.get('layout')}, rendered"
                f" under layout {answer.get('renderer_layout')} (recorded {answer['sha256']})",
            )
        elif rendered == answer["sha256"]:
            say(("ok          ", "green"), f"  {name}: {rendered}")
        else:
            failed += 1
            say(
                ("MISMATCH    ", "bold red"),
                f"  {name}: recorded {answer['sha256']}, rendered {rendered}",
            )
    return 1 if failed else 0


def _revisions(kind: str):
    return iter(range(1, 10_000)) if kind in REVISED else iter((1,))


def _document(rpc, kind: str, document_id: str, revision):
    return getattr(rpc, ISSUED_BY[kind]).document(kind, document_id, revision)
