"""`oms keys`: the gateway's API keys — create (shown once), revoke, list — and an RPC actor token
for one."""

import click

from oms.console import err, pass_session, say
from shared import actors


@click.group()
def keys() -> None:
    """API keys for the HTTP gateway: create, revoke, list, or an RPC actor token for one."""


@keys.command()
@click.option("--name", required=True, help="who its requests are recorded as")
@click.option("--role", required=True, type=click.Choice(actors.ROLES))
@pass_session
def create(session, name, role) -> int:
    """A new key (printed once)."""
    created = session.rpc.gateway.create_key(name, role)
    say(f"{created['name']} ({created['role']}): {created['key']}")
    say(("keep it now: it is shown only this once (the gateway stores a hash)", "yellow"))
    return 0


@keys.command()
@click.argument("name")
@pass_session
def revoke(session, name) -> int:
    """Refuse the key from now on."""
    revoked = session.rpc.gateway.revoke_key(name)
    say(f"{revoked['name']} revoked at {revoked['revoked_at']}")
    return 0


@keys.command()
@click.argument("name")
@pass_session
def token(session, name) -> int:
    """An RPC actor token for the key's name and role."""
    minted = session.rpc.gateway.token_for_key(name)
    click.echo(minted["token"])
    say(f"{minted['name']} ({minted['role']}), valid until {minted['expires_at']}", console=err)
    return 0


@keys.command(name="list")
@pass_session
def list_keys(session) -> int:
    """Every key (never the key itself)."""
    for key in session.rpc.gateway.list_keys():
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        colour = "red" if key["revoked_at"] else "green"
        say(f"{key['name']:<24} {key['role']:<10} {key['hint']:<14} ", (state, colour))
    return 0
