"""`oms forget-client`: forget a client — its name, e-mail, phone and addresses read "forgotten
client" in every service from then on (orders destroys the key sealing them); its orders, totals
and history stay. The same as the back office's `POST /v1/clients/{code}/forget`."""

import click

from oms.console import pass_session, say
from services.gateway.forgetting import forget


@click.command(name="forget-client")
@click.argument("who", metavar="CODE|order:ID")
@click.option("--yes", is_flag=True, help="do not ask first (forgetting cannot be undone)")
@pass_session
def forget_client(session, who, yes) -> int:
    """Forget a catalogue client by its CODE, or a guest client by one of its orders
    (order:ID). It cannot be undone; forgetting a forgotten client changes nothing."""
    if not yes:
        click.confirm(f"Forget {who} for good? This cannot be undone", abort=True)

    def call(service: str, method: str, args: list):
        return getattr(getattr(session.rpc, service), method)(*args)

    answer = forget(call, who)
    if answer["now"]:
        say((f"{answer['subject']} forgotten", "bold"))
    else:
        say(f"{answer['subject']} was forgotten before: nothing changed")
    return 0
