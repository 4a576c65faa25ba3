"""The operators' dashboard in headless Chromium against the running system: the login, the live
feed, retrying a parked event from its button, an order's time slider and its quantity ledger.
Each page's screenshot is written to var/screenshots/ (OMS_SCREENSHOTS) for people to look at."""

import json
import os
import time
from pathlib import Path

import eventlet
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from services.orders.application import order_id_for
from shared import faults
from tests.conftest import fresh_store, fresh_vhost
from tests.gateway.conftest import start_api
from tests.gateway.test_tracking import browser
from tests.support import ROOT, eventually, order_payload, random_ref

SHOTS = Path(os.environ.get("OMS_SCREENSHOTS") or ROOT / "var" / "screenshots")


@pytest.fixture(scope="module")
def board(rabbit, tmp_path_factory):
    """The five services and the gateway on SQLite, of this module's own: its faults and parked
    events stay here."""
    with (
        fresh_vhost(rabbit) as uri,
        fresh_store("sqlite", tmp_path_factory.mktemp("db"), None) as urls,
    ):
        running = start_api(uri, urls)
        try:
            yield running
        finally:
            running.system.__exit__(None, None, None)


@pytest.fixture
def driver():
    chrome = browser()
    chrome.set_window_size(1280, 900)
    yield chrome
    chrome.quit()


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def log_in(driver, board, role: str) -> None:
    driver.get(f"{board.url}/dashboard")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "key"))
    assert "/dashboard/login" in driver.current_url
    driver.find_element(By.ID, "key").send_keys(board.keys[role])
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "panels"))


def test_the_dashboard_takes_operator_and_admin_keys_only(board):
    url = f"{board.url}/dashboard"
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/dashboard/login")
    shop = {"Authorization": f"Bearer {board.keys['storefront']}"}
    assert requests.get(url, headers=shop, timeout=10).status_code == 401
    ops = {"Authorization": f"Bearer {board.keys['operator']}"}
    page = requests.get(url, headers=ops, timeout=10)
    assert page.status_code == 200 and "Orders by status" in page.text
    refused = requests.post(f"{url}/login", data={"key": board.keys["storefront"]}, timeout=10)
    assert refused.status_code == 401 and "not an operator" in refused.text
    assert requests.get(f"{url}/events", timeout=10).status_code == 401
    session = requests.Session()
    session.post(f"{url}/login", data={"key": board.keys["operator"]}, timeout=10)
    cookie = next(c for c in session.cookies if c.name == "oms_dashboard")
    assert cookie.path == "/dashboard" and cookie.has_nonstandard_attr("HttpOnly")
    assert session.get(url, timeout=10).status_code == 200


def test_the_live_feed_shows_a_new_order_as_it_is_placed(board, driver):
    log_in(driver, board, "operator")
    shot(driver, "dashboard-login-done")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "feed-state").text == "live")
    with board.system.rpc() as rpc:
        placed_at = time.monotonic()
        order = rpc.orders.place_order(order_payload())
    row = WebDriverWait(driver, 10, poll_frequency=0.02).until(
        lambda d: [
            r
            for r in d.find_elements(By.CSS_SELECTOR, "#feed tr[data-type='orders.order_placed']")
            if order["id"][:8] in r.text
        ]
    )[0]
    shown_after = time.monotonic() - placed_at
    print(f"the feed showed the order {shown_after * 1000:.0f} ms after the RPC returned")
    assert row.find_element(By.TAG_NAME, "a").get_attribute("href").endswith(order["id"])
    # the counts follow the feed
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#orders-by-status [data-status='new']")
    )
    shot(driver, "dashboard")
    driver.set_window_size(390, 844)  # a phone: the panels stack, nothing runs off the side
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390 + 16, width
    shot(driver, "dashboard-phone")


def test_a_parked_event_is_retried_from_its_button(board, driver):
    key = random_ref("dash-parked-")
    order_id = str(order_id_for(key))
    faults.set_fault("fail_reaction", [order_id])
    try:
        with board.system.rpc() as rpc:
            rpc.orders.place_order(order_payload(), idempotency_key=key)
            rpc.orders.accept_order(order_id)
            eventually(lambda: len(rpc.billing.parked_events()) == 2, timeout=60)
    finally:
        faults.clear()
    operator = browser()
    try:
        log_in(operator, board, "operator")
        button = operator.find_element(By.CSS_SELECTOR, "#parked button.retry")
        assert not button.is_enabled()  # retrying is an admin's
    finally:
        operator.quit()

    log_in(driver, board, "admin")
    billing = driver.find_element(By.CSS_SELECTOR, "#parked tr[data-parked^='billing-']")
    assert "orders.order_placed" in billing.text and "injected" in billing.text.lower()
    shot(driver, "dashboard-parked")
    while buttons := driver.find_elements(By.CSS_SELECTOR, "#parked button.retry:enabled"):
        buttons[0].click()  # a POST; the page comes back without it
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "panels") or problem(d))
        assert not problem(driver), problem(driver)
    with board.system.rpc() as rpc:
        assert len(rpc.billing.invoices_for_order(order_id)) == 1
        assert all(not getattr(rpc, s).parked_events() for s in ("billing", "notify"))
    assert "none: every reaction went through" in driver.find_element(By.ID, "parked").text


def test_the_order_page_shows_it_before_and_after_acceptance_and_its_ledger_adds_up(board, driver):
    with board.system.rpc() as rpc:
        order = rpc.orders.place_order(order_payload())
        eventually(lambda: rpc.notify.order_events(order["id"]))
        rpc.orders.accept_order(order["id"])
        (invoice,) = eventually(lambda: rpc.billing.invoices_for_order(order["id"]))
        payment = {"amount": invoice["gross"], "method": "cash", "paid_on": "2026-12-01"}
        rpc.billing.record_payment(invoice["id"], dict(payment, reference="dash-1"))
        (job,) = eventually(lambda: rpc.production.production_orders_for_order(order["id"]))
        rpc.production.release_production_order(job["id"])
        rpc.production.start_production_order(job["id"])
        rpc.production.record_produced(job["id"], 40)
        rpc.orders.ship_shipping(order["id"], order["shippings"][0]["id"])
        eventually(lambda: rpc.fulfilment.purchase_orders_for_order(order["id"]))
        eventually(lambda: rpc.orders.get_order(order["id"])["payment_status"] == "paid")
        lines = {line["sku"]: line for line in rpc.orders.get_order(order["id"])["lines"]}

    log_in(driver, board, "operator")
    driver.get(f"{board.url}/dashboard/orders/{order['id']}")
    ledger = {
        row.get_attribute("data-sku"): {
            cell.get_attribute("data-stage"): cell.text
            for cell in row.find_elements(By.CSS_SELECTOR, "td[data-stage]")
        }
        for row in driver.find_elements(By.CSS_SELECTOR, "#ledger tr[data-sku]")
    }
    # ordered → in production → produced → shipped → delivered → invoiced → paid
    assert ledger["CARD-9"] == {
        "ordered": "100", "in_production": "100", "produced": "40", "shipped": "100",
        "delivered": "0", "invoiced": "100", "paid": "100",
    }  # fmt: skip
    assert (
        ledger["MUG-1"]["ordered"] == str(lines["MUG-1"]["quantity"]) == ledger["MUG-1"]["shipped"]
    )
    assert ledger["MUG-1"]["in_production"] == "–"  # bought in, not made
    assert ledger["MUG-1"]["invoiced"] == ledger["MUG-1"]["paid"] == "3"
    why = driver.find_element(
        By.XPATH,
        "//tr[td/strong[text()='fulfilment.purchase_order_raised']]/td[contains(@class,'why')]",
    ).text
    assert (
        why.startswith("fulfilment:") and " ← orders:" in why and why.endswith(why.split(" ← ")[-1])
    )
    assert why.split(" ← ")[-1].startswith("rpc:")  # the ship command started it
    shot(driver, "dashboard-order")

    slider = driver.find_element(By.ID, "slider")
    ids = json.loads(slider.get_attribute("data-events"))  # the events in time order
    accepted = next(i for i, e in enumerate(ids) if e == _event_id(driver, "orders.order_accepted"))

    def slide_to(step: int) -> str:
        """The slider at `step`: the moment right after the step-th event."""
        driver.execute_script(
            "var s = document.getElementById('slider'); s.value = arguments[0];"
            " s.dispatchEvent(new Event('input'));",
            step,
        )
        WebDriverWait(driver, 10).until(
            lambda d: (
                d.find_element(By.ID, "at-label").text.startswith("right after")
                and d.find_element(By.ID, "slider-at").get_attribute("value")[:23]
                in d.find_element(By.ID, "at-label").text
            )
        )
        return driver.find_element(By.ID, "states").text

    before = slide_to(accepted)  # right after the event before the acceptance
    assert _orders_status(driver) == "new" and "billing" not in before
    shot(driver, "dashboard-order-before-acceptance")
    after = slide_to(accepted + 1)
    assert _orders_status(driver) in ("accepted", "in_production") and "orders" in after


def problem(driver) -> str:
    """What the dashboard's problem page says (nothing on any other page)."""
    return " ".join(e.text for e in driver.find_elements(By.ID, "problem"))


def _event_id(driver, event_type: str) -> str:
    row = driver.find_element(By.XPATH, f"//tr[td/strong[text()='{event_type}']]")
    return row.get_attribute("data-event")


def _orders_status(driver) -> str:
    row = driver.find_element(By.CSS_SELECTOR, "#states tr[data-service='orders']")
    return row.find_element(By.CSS_SELECTOR, "td.status strong").text


def test_every_open_dashboard_gets_each_event_and_its_filters_keep_the_rest_out(board):
    key = {"Authorization": f"Bearer {board.keys['operator']}"}
    with board.system.rpc() as rpc:
        mine = rpc.orders.place_order(order_payload())  # placed before: the filter names it
    feeds = {
        "all": f"{board.url}/dashboard/events",
        "mine": f"{board.url}/dashboard/events?order={mine['id']}",
        "billing": f"{board.url}/dashboard/events?service=billing",
        "placed": f"{board.url}/dashboard/events?service=orders&type=order_placed",
    }
    got = {name: [] for name in feeds}
    streams = {
        name: requests.get(url, headers=key, stream=True, timeout=30) for name, url in feeds.items()
    }
    readers = [eventlet.spawn(_collect, stream, got[name]) for name, stream in streams.items()]
    try:
        time.sleep(1)  # every stream is open
        with board.system.rpc() as rpc:
            other = rpc.orders.place_order(order_payload())
            rpc.orders.accept_order(mine["id"])
            eventually(lambda: rpc.billing.invoices_for_order(mine["id"]))
        eventually(lambda: any(e["type"] == "billing.invoice_issued" for e in got["all"]))
        time.sleep(0.5)
    finally:
        for reader in readers:
            reader.kill()
        for stream in streams.values():
            stream.close()
    types = {name: {e["type"] for e in events} for name, events in got.items()}
    assert {"orders.order_placed", "orders.order_accepted", "billing.invoice_issued"} <= types[
        "all"
    ]
    assert all(e["order_id"] == mine["id"] for e in got["mine"]) and got["mine"]
    assert types["billing"] and all(t.startswith("billing.") for t in types["billing"])
    assert [e["subject"] for e in got["placed"]] == [other["id"]]


def _collect(stream, into: list) -> None:
    for line in stream.iter_lines(decode_unicode=True):
        if line and line.startswith("data: "):
            into.append(json.loads(line[6:]))
