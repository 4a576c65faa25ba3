"""The work sheet: what the workshop needs to run a production order — the product and quantity,
the planned date, the order's production notes and the job's own, and its production files with
their certification — in the client's language. A revision's content is recorded with its SHA-256
when it is issued (`ProductionOrder.WorkSheetIssued`), so rendering it again gives the same bytes.
"""

from shared import documents
from shared.documents import Column, Document, Labels


def content(job, settings) -> dict:
    """What the sheet shows of a production order now (the status is not on it: it changes as
    the job runs and is on the queue, not on paper)."""
    return {
        "language": Labels(job.client.get("language"), settings.document_language).language,
        "seller": documents.seller(settings),
        "production_order_id": str(job.id),
        "number": job.number,
        "order_id": job.order_id,
        "order_reference": job.order_reference,
        "client": {k: job.client.get(k) for k in ("code", "name")},
        "sku": job.sku,
        "name": job.name,
        "quantity": job.quantity,
        "planned_date": job.planned_date,
        "rerun_of": job.rerun_of,
        "order_notes": [{k: n[k] for k in ("text", "author", "at")} for n in job.order_notes],
        "notes": [{k: n[k] for k in ("text", "author", "at")} for n in job.notes],
        "files": [
            {
                "name": f["name"],
                "sha256": f["sha256"],
                "size": f["size"],
                "required": f["required"],
                "certified": f["certified"],
                "comments": [{k: c[k] for k in ("text", "author")} for c in f["comments"]],
            }
            for f in job.files
        ],
    }


def page(sheet: dict) -> Document:
    c = sheet["content"]
    labels = Labels(c["language"])
    facts = [
        (labels["issued_on"], labels.date(sheet["issued_on"])),
        (labels["revision"], str(sheet["revision"])),
        (labels["production_order"], c["number"]),
        (labels["order"], c["order_reference"]),
        (labels["planned_date"], labels.date(c["planned_date"]) or "—"),
    ]
    if c["rerun_of"]:
        rerun = c["rerun_of"]
        facts.append(
            ("", labels.text("rerun_of", number=rerun["number"], claim=rerun["order_reference"]))
        )
    client = c["client"]
    files = []
    for f in c["files"]:
        certified = (
            labels.text("certified", by=f["certified"]["by"], at=labels.date(f["certified"]["at"]))
            if f["certified"]
            else labels["not_certified"]
        )
        need = labels["required"] if f["required"] else labels["optional"]
        files.append(f"{f['name']} · {labels.number(f['size'])} B · {need} · {certified}")
        files.append(f"    SHA-256 {f['sha256']}")
        files += [
            f"    {labels.text('comment', author=x['author'], text=x['text'])}"
            for x in f["comments"]
        ]
    return Document(
        language=labels.language,
        title=labels.title("work_sheet"),
        number=sheet["number"],
        issued_on=sheet["issued_on"],
        facts=tuple(facts),
        parties=(
            (labels["seller"], documents.seller_lines(c["seller"], labels)),
            (labels["client"], tuple(x for x in (client.get("name"), client.get("code")) if x)),
        ),
        columns=(
            Column(labels["sku"], 0.2),
            Column(labels["product"], 0.6),
            Column(labels["to_produce"], 0.2, "R"),
        ),
        rows=((c["sku"], c["name"], labels.number(c["quantity"])),),
        sections=(
            (labels["order_notes"], _notes(c["order_notes"], labels)),
            (labels["notes"], _notes(c["notes"], labels)),
            (labels["files"], tuple(files) or (labels["none"],)),
        ),
        footer=f"{c['seller']['name']} · {sheet['number']} · {labels['page']}",
        subject=f"{c['order_reference']} {c['sku']}",
    )


def _notes(notes: list, labels: Labels) -> tuple:
    shown = tuple(f"{labels.date(n['at'])} {n['author'] or ''}: {n['text']}" for n in notes)
    return shown or (labels["none"],)


def render(sheet: dict) -> bytes:
    return documents.render(page(sheet))


def fingerprint(sheet: dict) -> str:
    return documents.sha256(render(sheet))


def served(sheet: dict, content_bytes: bytes) -> dict:
    c = sheet["content"]
    return documents.served(
        "work_sheet",
        c["production_order_id"],
        sheet["number"],
        sheet["sha256"],
        content_bytes,
        sheet.get("layout"),
    )
