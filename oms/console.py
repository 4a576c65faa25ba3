"""How `oms` talks to the operator: rich consoles (colour on a terminal, plain text in a pipe or a
log; lines are never wrapped, so a grep sees each one whole) and the session each command opens
with the running services."""

import click
from nameko.standalone.rpc import ClusterRpcProxy
from rich.console import Console
from rich.text import Text

from shared import actors, settings

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def say(*parts, console: Console = out) -> None:
    """Print one line made of plain strings and `(text, style)` pairs; nothing in the text is
    read as markup (ids, errors and subjects print as they are)."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(*part)
        else:
            line.append(str(part))
    console.print(line)


class Session:
    """The command line's connection to the system: an RPC proxy opened on first use, acting as
    admin under `--actor` with the local actor secret, closed when the command ends."""

    def __init__(self, amqp_uri: str | None, actor: str):
        self.loaded = settings.Settings.load()
        self.amqp_uri = amqp_uri or self.loaded.amqp_uri
        self.actor = actor
        self._proxy = None
        self._rpc = None

    @property
    def rpc(self):
        if self._rpc is None:
            config = dict(self.loaded.nameko_config(), AMQP_URI=self.amqp_uri)
            secret = actors.local_secret(self.loaded.actor_secret)
            caller = actors.rpc_context(secret, self.actor) if secret else {}
            self._proxy = ClusterRpcProxy(
                config, timeout=self.loaded.rpc_timeout, context_data=caller
            )
            self._rpc = self._proxy.start()
        return self._rpc

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = self._rpc = None


pass_session = click.make_pass_decorator(Session)
