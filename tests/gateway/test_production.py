"""The workshop and the documents against the running system, on SQLite and PostgreSQL: production
orders over HTTP and RPC (allowed and refused), files, the queue, documents per role at
`/v1/documents/{kind}/{id}.pdf`, the client's own documents through the tracking page, and
`oms document verify` rendering them again in the running services."""

import base64
import hashlib

import pytest

from oms import cli
from shared.errors import InvalidTransition, NotFound
from tests.gateway.test_desk import ok
from tests.support import eventually, order_payload


def digest_of(answer) -> str:
    """The SHA-256 the gateway sends as `Repr-Digest`, in hex."""
    value = answer.headers["Repr-Digest"].removeprefix("sha-256=:").removesuffix(":")
    return base64.b64decode(value).hex()


def invoice_of(desk, order_id: str) -> dict | None:
    documents = desk.get(f"/v1/orders/{order_id}/invoices").json()
    return next((d for d in documents if d["kind"] == "invoice"), None)


def test_a_production_order_runs_through_the_workshop_over_http_and_rpc(api):
    desk = api.operator
    order = ok(desk.post("/v1/orders", order_payload()), 201)
    ok(desk.post(f"/v1/orders/{order['id']}/accept"))
    path = f"/v1/orders/{order['id']}/production-orders"
    (job,) = eventually(lambda: desk.get(path).json())
    jobs = f"/v1/production-orders/{job['id']}"
    assert job["status"] == "planned" and ok(desk.post(path)) == [job]  # twice: nothing new

    artwork = b"%PDF-1.7 artwork"
    body = {"name": "front.pdf", "content": base64.b64encode(artwork).decode(),
            "content_type": "application/pdf"}  # fmt: skip
    (file,) = ok(desk.post(f"{jobs}/files", body), 201)["files"]
    refused = desk.post(f"{jobs}/release")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "required_file_not_certified"
    fetched = desk.get(f"{jobs}/files/{file['id']}")
    assert fetched.content == artwork and digest_of(fetched) == hashlib.sha256(artwork).hexdigest()
    ok(desk.post(f"{jobs}/files/{file['id']}/comments", {"text": "bleed ok"}), 201)
    ok(desk.post(f"{jobs}/files/{file['id']}/certify"))
    assert ok(desk.post(f"{jobs}/release"))["status"] == "released"
    assert desk.post(f"{jobs}/finish").json()["rule"] == "finish_requires_in_progress"
    with api.system.rpc(actor="maria", role="operator") as rpc:
        started = rpc.production.start_production_order(job["id"])
        assert started["status"] == "in_progress"
        with pytest.raises(NotFound):
            rpc.production.start_production_order("5" * 8 + job["id"][8:])  # none such
        held = rpc.production.hold_production_order(job["id"], "out of ink")
        with pytest.raises(InvalidTransition) as caught:
            rpc.production.record_produced(job["id"], 10)
        assert caught.value.details["rule"] == "production_order_on_hold"
        rpc.production.resume_production_order(job["id"], "ink came")
    assert held["status"] == "on_hold"
    wrong = desk.post(f"{jobs}/produced", {"quantity": 0})
    assert wrong.status_code == 422 and "quantity" in wrong.json()["errors"]
    assert ok(desk.post(f"{jobs}/produced", {"quantity": 40}))["produced"] == 40
    line = eventually(
        lambda: (
            (o := desk.get(f"/v1/orders/{order['id']}").json())["lines"][1]["produced"] == 40
            and o["lines"][1]
        )
    )
    assert line["production_status"] == "partially_produced"
    queue = ok(desk.get("/v1/production-orders?status=in_progress&limit=500"))
    assert job["id"] in [j["id"] for j in queue["items"]]
    assert ok(desk.post(f"{jobs}/finish"))["status"] == "finished"
    eventually(lambda: desk.get(f"/v1/orders/{order['id']}").json()["status"] == "ready")

    sheet = desk.get(f"/v1/documents/work_sheet/{job['id']}.pdf")
    assert sheet.status_code == 200 and sheet.headers["Content-Type"] == "application/pdf"
    assert digest_of(sheet) == hashlib.sha256(sheet.content).hexdigest()
    assert api.storefront.get(f"/v1/documents/work_sheet/{job['id']}.pdf").status_code == 403


def test_documents_are_read_per_role_and_a_storefront_sees_only_its_own(api):
    shop, desk = api.storefront, api.operator
    order = ok(shop.post("/v1/orders", order_payload()), 201)
    # billing learns of the order from its event: the pro-forma can be asked for within moments
    pro_forma = eventually(
        lambda: (r := shop.post(f"/v1/orders/{order['id']}/pro-forma")).ok and r.json()
    )
    ok(desk.post(f"/v1/orders/{order['id']}/accept"))
    invoice = eventually(lambda: invoice_of(desk, order["id"]))
    for kind, document_id in (
        ("confirmation", order["id"]),
        ("invoice", invoice["id"]),
        ("pro_forma", pro_forma["id"]),
    ):
        answer = shop.get(f"/v1/documents/{kind}/{document_id}.pdf")
        assert answer.status_code == 200, (kind, answer.text)
        assert answer.content.startswith(b"%PDF-")
        assert digest_of(answer) == hashlib.sha256(answer.content).hexdigest()
        assert answer.headers["Content-Disposition"].startswith("inline; filename=")
    assert digest_of(shop.get(f"/v1/documents/invoice/{invoice['id']}.pdf")) == invoice["sha256"]
    other = api.key("storefront")
    for kind, document_id in (("confirmation", order["id"]), ("invoice", invoice["id"])):
        assert other.get(f"/v1/documents/{kind}/{document_id}.pdf").status_code == 404
    assert desk.get(f"/v1/documents/receipt/{invoice['id']}.pdf").status_code == 404
    assert desk.get(f"/v1/documents/credit_note/{invoice['id']}.pdf").status_code == 404
    assert api.anonymous.get(f"/v1/documents/invoice/{invoice['id']}.pdf").status_code == 401


def test_the_client_downloads_its_documents_from_the_tracking_page(sqlite_api):
    api = sqlite_api
    desk = api.operator
    order = ok(desk.post("/v1/orders", order_payload()), 201)
    ok(desk.post(f"/v1/orders/{order['id']}/accept"))
    (invoice,) = eventually(lambda: desk.get(f"/v1/orders/{order['id']}/invoices").json())
    link = ok(desk.get(f"/v1/orders/{order['id']}/tracking-link"))["url"]
    page = api.anonymous.get(link).text
    confirmation = f"{link}/documents/confirmation/{order['id']}.pdf"
    assert (
        f"/documents/invoice/{invoice['id']}.pdf" in page
        and confirmation.split(api.url)[-1] in page
    )
    for url in (confirmation, f"{link}/documents/invoice/{invoice['id']}.pdf"):
        answer = api.anonymous.get(url)
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF-"), url
    other = ok(desk.post("/v1/orders", order_payload()), 201)
    ok(desk.post(f"/v1/orders/{other['id']}/accept"))
    (theirs,) = eventually(lambda: desk.get(f"/v1/orders/{other['id']}/invoices").json())
    assert api.anonymous.get(f"{link}/documents/invoice/{theirs['id']}.pdf").status_code == 404
    assert api.anonymous.get(f"{link}/documents/work_sheet/{order['id']}.pdf").status_code == 404
    unaccepted = ok(desk.post("/v1/orders", order_payload()), 201)
    their_link = ok(desk.get(f"/v1/orders/{unaccepted['id']}/tracking-link"))["url"]
    early = api.anonymous.get(f"{their_link}/documents/confirmation/{unaccepted['id']}.pdf")
    assert early.status_code == 404 and "text/html" in early.headers["Content-Type"]  # none yet
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert (
        api.anonymous.get(f"{forged}/documents/confirmation/{order['id']}.pdf").status_code == 404
    )


def test_oms_document_verify_renders_each_revision_again_in_the_running_services(api, capsys):
    desk = api.operator
    order = ok(desk.post("/v1/orders", order_payload()), 201)
    ok(desk.post(f"/v1/orders/{order['id']}/accept"))
    (invoice,) = eventually(lambda: desk.get(f"/v1/orders/{order['id']}/invoices").json())
    # the confirmation is issued when first asked for, and revised when asked for after a change
    assert desk.get(f"/v1/documents/confirmation/{order['id']}.pdf").status_code == 200
    shipping = order["shippings"][0]["id"]
    contents = [{"sku": "MUG-1", "quantity": 1}, {"sku": "CARD-9", "quantity": 100}]
    ok(
        desk.post(
            f"/v1/orders/{order['id']}/edit", {"shippings": [{"id": shipping, "lines": contents}]}
        )
    )
    assert desk.get(f"/v1/documents/confirmation/{order['id']}.pdf").status_code == 200
    base = ["--amqp-uri", api.system.amqp_uri, "--actor", "ops-ana", "document"]
    assert cli.main([*base, "verify", "confirmation", order["id"]]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["ok", "ok"]  # revisions 1 and 2
    assert order["reference"] in out[0] and f"{order['reference']}/2" in out[1]
    assert cli.main([*base, "verify", "invoice", invoice["id"]]) == 0
    assert capsys.readouterr().out.startswith(f"ok            invoice {invoice['number']}")
    assert cli.main([*base, "verify", "invoice", order["id"]]) == 2  # not an invoice id
