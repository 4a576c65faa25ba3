"""`oms document`: a document's PDF from the service that issued it, and the check anyone can
make later — render it again from the events and compare its SHA-256 with the one the issuing
event recorded."""

import base64
import hashlib
from pathlib import Path

from shared.documents import ISSUED_BY
from shared.errors import NotFound

REVISED = ("confirmation", "work_sheet")  # revised as what they show changes


def get(rpc, args) -> int:
    """Write a document's PDF (the current revision, issued now if what it shows changed)."""
    answer = _document(rpc, args.kind, args.id, args.revision)
    out = Path(args.out or answer["filename"])
    out.write_bytes(base64.b64decode(answer["content"]))
    print(f"{out}: {answer['kind']} {answer['number']}, sha256 {answer['sha256']}")
    return 0


def verify(rpc, args) -> int:
    """Render every issued revision of a document again and compare it with the SHA-256 its
    issuing event recorded; exit 1 if any differs."""
    revisions = [args.revision] if args.revision else _revisions(args.kind)
    checked = failed = 0
    for revision in revisions:
        try:
            answer = _document(rpc, args.kind, args.id, revision)
        except NotFound:
            if checked:
                break
            raise
        checked += 1
        rendered = hashlib.sha256(base64.b64decode(answer["content"])).hexdigest()
        name = f"{answer['kind']} {answer['number']}"
        if answer["sha256"] is None:
            print(f"unverifiable  {name}: issued before documents recorded their SHA-256")
        elif answer.get("layout") != answer.get("renderer_layout"):
            print(
                f"unverifiable  {name}: issued under layout {answer.get('layout')}, rendered"
                f" under layout {answer.get('renderer_layout')} (recorded {answer['sha256']})"
            )
        elif rendered == answer["sha256"]:
            print(f"ok            {name}: {rendered}")
        else:
            failed += 1
            print(f"MISMATCH      {name}: recorded {answer['sha256']}, rendered {rendered}")
    return 1 if failed else 0


def _revisions(kind: str):
    return iter(range(1, 10_000)) if kind in REVISED else iter((1,))


def _document(rpc, kind: str, document_id: str, revision):
    return getattr(rpc, ISSUED_BY[kind]).document(kind, document_id, revision)


def add_parser(sub) -> None:
    doc = sub.add_parser("document", help=__doc__.split("\n")[0])
    actions = doc.add_subparsers(dest="action", required=True)
    for name, handler in (("get", get), ("verify", verify)):
        action = actions.add_parser(name, help=handler.__doc__)
        action.add_argument("kind", choices=sorted(ISSUED_BY))
        action.add_argument("id", help="the order, invoice, purchase order or production order")
        action.add_argument(
            "--revision",
            type=int,
            help="one revision (default: get the current, verify every one issued)",
        )
        if name == "get":
            action.add_argument("--out", "-o", help="the file to write (default: its name)")
        action.set_defaults(handler=handler)
