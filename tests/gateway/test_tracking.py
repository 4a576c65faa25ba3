"""The client's tracking page, from the link in a real e-mail: in the client's language, without
JavaScript, live in headless Chromium when an operator ships over RPC, and 404 for a tampered or
revoked link."""

import re

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from oms import cli
from oms.serve import SERVICE_CLASSES
from tests.conftest import fresh_sqlite, fresh_vhost
from tests.support import System, eventually, order_payload
from tests.thirdparties import MailServer, text_of


@pytest.fixture(scope="module")
def desk(rabbit, tmp_path_factory):
    """The five services and the gateway on SQLite, mailing a real local SMTP server."""
    directory = tmp_path_factory.mktemp("tracking")
    with MailServer(directory / "mail") as mail, fresh_vhost(rabbit) as uri:
        system = System(uri, fresh_sqlite(directory), services=(*SERVICE_CLASSES, "gateway"))
        system.config.update(
            mail.settings(PUBLIC_URL=system.api_url, SEND_BACKOFF_SECONDS=0.3, NOTIFY_POLICY="auto")
        )
        with system:
            system.mail = mail
            yield system


def placed_in_polish(desk) -> tuple[dict, str]:
    """An order placed and accepted, and the tracking link from the e-mail its client received."""
    with desk.rpc(actor="maria", role="operator") as rpc:
        payload = order_payload()
        payload["client"]["language"] = "pl"
        order = rpc.orders.place_order(payload)
        rpc.orders.accept_order(order["id"])
        rpc.orders.add_note(order["id"], {"kind": "client", "text": "Pakujemy <ostrożnie>"})
        rpc.orders.add_note(order["id"], {"kind": "internal", "text": "tajne"})

    def accepted_mail():
        return next(
            (
                m
                for m in desk.mail.messages()
                if m["Subject"] == f"Zamówienie {order['reference']} przyjęte"
            ),
            None,
        )

    message = eventually(accepted_mail, timeout=60)
    link = re.search(r"https?://\S+/track/\S+", text_of(message)).group(0)
    return order, link


def browser(javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def test_the_page_from_the_email_changes_live_when_an_operator_ships(desk):
    order, link = placed_in_polish(desk)
    driver = browser()
    try:
        driver.get(link)
        status = driver.find_element(By.ID, "status")
        assert status.text in ("przyjęte", "w produkcji")  # the card is made in house
        assert f"Zamówienie {order['reference']}" in driver.title
        page = driver.find_element(By.TAG_NAME, "body").text
        assert "Pakujemy <ostrożnie>" in page and "tajne" not in page
        driver.execute_script("window.stillTheSamePage = true")
        shipping = order["shippings"][0]["id"]
        with desk.rpc(actor="maria", role="operator") as rpc:
            rpc.orders.ship_shipping(order["id"], shipping)
        # the fragment is replaced on every change: an element read just before may be stale
        WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: d.find_element(By.ID, "status").text == "wysłane"
        )
        assert driver.execute_script("return window.stillTheSamePage") is True  # no reload
        shipped = driver.find_element(By.CSS_SELECTOR, "#shippings .shipping")
        assert shipped.get_attribute("data-status") == "shipped"
    finally:
        driver.quit()


def test_the_page_is_whole_without_javascript_and_a_tampered_link_is_404(desk):
    order, link = placed_in_polish(desk)
    driver = browser(javascript=False)
    try:
        driver.get(link)
        assert driver.find_element(By.ID, "status").text in ("przyjęte", "w produkcji")
        assert order["lines"][0]["name"] in driver.find_element(By.ID, "lines").text
        tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
        driver.get(tampered)
        assert "not valid" in driver.find_element(By.TAG_NAME, "body").text  # Accept-Language
    finally:
        driver.quit()
    refused = requests.get(tampered, headers={"Accept-Language": "pl-PL,pl;q=0.9"}, timeout=10)
    assert refused.status_code == 404 and "nieważny" in refused.text
    assert requests.get(link + "/fragment", timeout=10).status_code == 200
    assert requests.get(tampered + "/events", timeout=10).status_code == 404


def test_see_as_client_and_a_revoked_link_leads_nowhere(desk):
    order, link = placed_in_polish(desk)
    with desk.rpc(actor="maria", role="operator") as rpc:
        assert rpc.notify.tracking_link(order["id"])["url"] == link  # what the client got
        renewed = rpc.notify.revoke_tracking(order["id"], "forwarded to a stranger")["url"]
    assert requests.get(link, timeout=10).status_code == 404
    page = requests.get(renewed, timeout=10)
    assert page.status_code == 200 and order["reference"] in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_the_event_stream_says_when_the_order_changed(desk):
    order, link = placed_in_polish(desk)
    with requests.get(link + "/events", stream=True, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 3000"
        with desk.rpc(actor="maria", role="operator") as rpc:
            rpc.orders.hold_order(order["id"], "waiting for artwork")
        assert eventually(lambda: next(lines) == "event: change", timeout=30)


def test_a_courier_marks_the_delivery_from_the_link_in_the_email(desk, tmp_path):
    """The courier's page in headless Chromium: the delivery and the client's phone; opening it
    changes nothing, the button marks it delivered (once), the client's page shows the courier
    and then the delivery; a tampered link is 404."""
    code = "courier-" + order_payload()["client"]["name"].split()[-1]
    with desk.rpc(actor="maria", role="operator") as rpc:
        rpc.fulfilment.register_courier(
            code, {"name": "Jan Kowalski", "email": f"{code}@couriers.example",
                   "phone": "+48 600 100 200"})  # fmt: skip
        order, link = placed_in_polish(desk)
        rpc.fulfilment.assign_courier(order["id"], order["shippings"][0]["id"], code)

    def task_mail():
        return next((m for m in desk.mail.messages() if m["To"] == f"{code}@couriers.example"),
                    None)  # fmt: skip

    courier_link = re.search(r"https?://\S+/courier/\S+", text_of(eventually(task_mail))).group(0)
    driver = browser()
    try:
        driver.get(courier_link)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert order["client"]["name"] in body and "+44 20 7946 0000" in body
        assert "12 St James's Sq" in body
        driver.save_screenshot(str(tmp_path / "courier-page.png"))
        with desk.rpc() as rpc:
            assert rpc.orders.get_order(order["id"])["status"] != "delivered"  # only looked
        driver.find_element(By.ID, "deliver").click()
        assert "Marked delivered" in driver.find_element(By.ID, "delivered").text
        with desk.rpc() as rpc:
            eventually(lambda: rpc.orders.get_order(order["id"])["status"] == "delivered")
        driver.get(courier_link)  # again, later: it says when, and offers no button
        assert "Delivered at" in driver.find_element(By.ID, "delivered").text
        assert not driver.find_elements(By.ID, "deliver")
        driver.get(link)  # the client's page
        assert "Jan Kowalski" in driver.find_element(By.ID, "shippings").text
    finally:
        driver.quit()
    again = requests.post(courier_link, timeout=10)
    assert again.status_code == 200 and "Delivered at" in again.text
    tampered = courier_link[:-2] + ("xx" if not courier_link.endswith("xx") else "yy")
    assert requests.get(tampered, timeout=10).status_code == 404
    assert requests.post(tampered, timeout=10).status_code == 404
    # the invariants hold: a shipping a courier delivered needs no purchase order, and the
    # courier's event has its three messages (the client's, the courier's e-mail and SMS)
    assert cli.main(["--amqp-uri", desk.amqp_uri, "verify", "--settle", "30"]) == 0
