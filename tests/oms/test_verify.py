"""`oms verify`'s checks on hand-written logs: each invariant finds what breaks it, and only that."""

from datetime import UTC, datetime, timedelta

from oms.verify import followers, invoices, notifications, parked, purchase_orders

CLIENT = {"name": "Ada", "email": "ada@example.com", "phone": "1"}


def event(service: str, name: str, position: int, **data) -> dict:
    return {"id": f"{service}:{position}", "type": f"{service}.{name}", "data": data}


def logs(orders=(), billing=(), fulfilment=(), production=(), notify=()) -> dict:
    return {
        "orders": list(orders),
        "billing": list(billing),
        "fulfilment": list(fulfilment),
        "production": list(production),
        "notify": list(notify),
    }


def accepted(position, order_id):
    return event("orders", "order_accepted", position, order_id=order_id, client=CLIENT)


def invoice(position, order_id, number, kind="invoice", shipping_id=None):
    return event(
        "billing",
        "invoice_issued",
        position,
        order_id=order_id,
        number=number,
        kind=kind,
        shipping_id=shipping_id,
        client=CLIENT,
    )


def test_an_accepted_order_with_two_invoices_or_none_is_a_breach():
    found = invoices(
        logs(
            orders=[accepted(1, "a"), accepted(2, "b"), accepted(3, "c")],
            billing=[invoice(1, "a", "INV-1"), invoice(2, "b", "INV-2"), invoice(3, "b", "INV-3")],
        ),
        "accept",
    )
    one, orphans = found
    assert one.checked == 3
    assert one.breaches == ["order b: 2 invoices", "order c: 0 invoices"]
    assert orphans.breaches == []


def test_an_invoice_for_an_order_never_accepted_is_a_breach():
    one, orphans = invoices(logs(billing=[invoice(1, "x", "INV-9")]), "accept")
    assert orphans.breaches == ["invoice INV-9: order not accepted"]
    assert one.breaches == ["order x: 1 invoices"]


def test_credit_notes_and_supplementary_invoices_are_not_second_invoices():
    one, _ = invoices(
        logs(
            orders=[accepted(1, "a")],
            billing=[invoice(1, "a", "INV-1"), invoice(2, "a", "INV-2", kind="supplementary")],
        ),
        "accept",
    )
    assert one.breaches == []


def shipped(position, order_id, shipping_id, *lines):
    return event(
        "orders",
        "shipping_shipped",
        position,
        order_id=order_id,
        shipping_id=shipping_id,
        lines=[{"sku": s, "distributor": d, "made_in_house": d is None} for s, d in lines],
        client=CLIENT,
    )


def test_on_dispatch_each_shipped_shipping_has_one_invoice():
    one, _ = invoices(
        logs(
            orders=[
                accepted(1, "a"),
                shipped(2, "a", "s1", ("MUG", "acme")),
                shipped(3, "a", "s2"),
            ],
            billing=[invoice(1, "a", "INV-1", shipping_id="s1")],
        ),
        "dispatch",
    )
    assert one.breaches == ["order a shipping s2: 0 invoices"]


def raised(position, shipping_id, distributor):
    return event(
        "fulfilment",
        "purchase_order_raised",
        position,
        shipping_id=shipping_id,
        distributor=distributor,
    )


def test_each_distributor_of_a_shipped_shipping_gets_one_purchase_order():
    check = purchase_orders(
        logs(
            orders=[shipped(1, "a", "s1", ("MUG", "acme"), ("PEN", "bic"), ("CARD", None))],
            fulfilment=[raised(1, "s1", "acme"), raised(2, "s1", "acme"), raised(3, "s9", "x")],
        )
    )
    assert check.checked == 3
    assert check.breaches == [
        "shipping s1 to acme: 2 raised",
        "shipping s1 to bic: 0 raised",
        "shipping s9 to x: 1 raised",
    ]


def notified(position, source):
    return event("notify", "notification_queued", position, source_event=source)


def test_each_notified_status_event_has_one_notification():
    internal_note = event("orders", "note_added", 3, kind="internal", client=CLIENT)
    check = notifications(
        logs(
            orders=[accepted(1, "a"), accepted(2, "b"), internal_note],
            notify=[notified(1, "orders:1"), notified(2, "orders:1")],
        )
    )
    assert check.breaches == ["event orders:1: 2 notifications", "event orders:2: 0 notifications"]


def test_a_follower_behind_its_upstreams_last_published_event_is_a_breach():
    statuses = {
        "orders": {"last_published": 10, "tracking": {"billing": 4}},
        "billing": {"last_published": 5, "tracking": {"orders": 10}},
    }
    assert followers(statuses).breaches == [
        "orders following billing: at 4, upstream sent it up to 5"
    ]


def test_a_follower_bound_to_some_names_has_to_reach_the_last_of_those_only():
    """Production is sent orders' acceptances: orders' later events of other names are not its
    lag; an acceptance it has not reached is."""
    orders = {
        "last_published": 144,
        "published_by_type": {"order_accepted": 88, "order_placed": 143, "note_added": 144},
        "tracking": {},
    }
    production = {"tracking": {"orders": 88}, "bound": {"orders": ["order_accepted"]}}
    assert followers({"orders": orders, "production": production}).breaches == []
    behind = dict(production, tracking={"orders": 80})
    assert followers({"orders": orders, "production": behind}).breaches == [
        "production following orders: at 80, upstream sent it up to 88"
    ]


def test_a_parked_event_nobody_has_seen_for_too_long_is_a_breach():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def entry(n, minutes_ago, seen):
        at = (now - timedelta(minutes=minutes_ago)).isoformat()
        return {
            "id": n,
            "event_id": f"orders:{n}",
            "status": "parked",
            "parked_at": at,
            "seen_at": at if seen else None,
        }

    check = parked(
        {"billing": [entry(1, 30, False), entry(2, 30, True), entry(3, 5, False)]},
        timedelta(minutes=15),
        now,
    )
    assert check.breaches == ["billing #1 orders:1: parked for 30 min, never listed"]
