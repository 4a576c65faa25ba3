"""`oms`: the operator's command line over the running services (status and lag, logs, parked
events, rebuilding the read models, webhooks, documents, feeds, keys, forgetting a client), on
click and rich."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

import click  # noqa: E402

from oms import (  # noqa: E402
    access,
    clients,
    documents,
    feeds,
    history,
    hooks,
    mailbox,
    ops,
    replaydiff,
    tail,
)
from oms.console import Session, err, say  # noqa: E402
from shared.errors import OmsError  # noqa: E402


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--amqp-uri", default=None, help="broker (default: $OMS_AMQP_URI or the local one)")
@click.option(
    "--actor",
    default=lambda: os.environ.get("USER") or "operator",
    help="who the changes are recorded as (default: $USER); the CLI acts as admin with the"
    " local actor secret (OMS_ACTOR_SECRET or var/actor-secret)",
)
@click.pass_context
def oms(ctx, amqp_uri, actor) -> None:
    """The operator's command line over the running services."""
    session = Session(amqp_uri, actor)
    ctx.obj = session
    ctx.call_on_close(session.close)


for command in (
    *ops.COMMANDS,
    access.keys,
    clients.forget_client,
    documents.document,
    feeds.feeds,
    hooks.webhooks,
    tail.tail,
    history.history,
    replaydiff.replay_diff,
    mailbox.mail,
    mailbox.sms,
):
    oms.add_command(command)


def main(argv=None) -> int:
    """Run one command; its exit code: 0 done, 1 it found a problem (a breach, a mismatch, a
    failed retry), 2 refused (bad arguments, or the services said no)."""
    try:
        code = oms.main(args=argv, prog_name="oms", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.Abort:
        say(("aborted", "red"), console=err)
        return 1
    except OmsError as exc:
        say(("error: ", "bold red"), str(exc), console=err)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
