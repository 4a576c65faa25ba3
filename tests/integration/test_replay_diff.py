"""`oms replay-diff`: billing's reactions replayed over the running system's orders log with this
tree's code and with another version's (a git ref where VAT is rounded half-even instead of
half-up): the invoices that would differ are listed field by field, and the same code shows no
difference."""

import subprocess

from oms import cli
from shared.settings import ROOT
from tests.support import System, eventually, order_payload

HALF_CENT = {  # 0.05 at 10 % VAT: 0.005 of tax, where the rounding rule decides
    "sku": "TAG-5", "name": "Paper tag", "quantity": 1, "unit_price": "0.05", "currency": "EUR",
    "vat_rate": "10", "made_in_house": False, "distributor": "acme",
}  # fmt: skip


def a_ref_that_rounds_half_even(tmp_path) -> str:
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    money = repo / "shared" / "money.py"
    money.write_text(money.read_text().replace("ROUND_HALF_UP", "ROUND_HALF_EVEN"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "checkout", "-q", "-b", "vat-rounding"], check=True)
    subprocess.run([*git, "commit", "-q", "-am", "VAT rounded half-even"], check=True)
    return str(repo)


def test_a_changed_vat_rounding_shows_as_the_invoices_it_changes(
    amqp_uri, sqlite_store, tmp_path, capsys
):
    repo = a_ref_that_rounds_half_even(tmp_path)
    with System(amqp_uri, sqlite_store, services=("orders", "billing")) as system:
        with system.rpc() as rpc:
            rounded = dict(order_payload(), lines=[HALF_CENT])
            rounded["shippings"][0]["lines"] = [{"sku": "TAG-5", "quantity": 1}]
            orders = [rpc.orders.place_order(rounded), rpc.orders.place_order(order_payload())]
            for order in orders:
                rpc.orders.accept_order(order["id"])
            invoices = [eventually(lambda o=o: rpc.billing.invoices_for_order(o["id"]))[0]
                        for o in orders]  # fmt: skip
        assert invoices[0]["tax"] == "0.01"  # half-up, as billing rounds today

        base = ["--amqp-uri", amqp_uri, "replay-diff", "billing"]
        code = cli.main([*base, "--ref", "vat-rounding", "--repo", repo])
        out = capsys.readouterr().out
        assert code == 1, out
        assert f"billing.invoice_issued {invoices[0]['number']}" in out
        assert 'tax: "0.01" → "0.00"' in out and 'gross: "0.06" → "0.05"' in out
        assert invoices[1]["number"] not in out  # its VAT has no half cent: the same
        assert "1 upstream events lead to different effects" in out

        code = cli.main([*base, "--ref", "HEAD"])
        out = capsys.readouterr().out
        assert code == 0 and "no effect differs" in out, out
