"""Puts the broker user table (oms/broker_users.py) on a RabbitMQ node through its management HTTP
API: the users with generated passwords (kept in a JSON file, 0600), and per vhost their
permissions, topic permissions and the exchanges they use — made here, so that consumers can
declare them passively. Run again, it changes nothing but what the table changed.

    python -m oms.broker_setup http://guest:guest@127.0.0.1:15672 --vhost / \\
        --passwords var/broker-users.json --amqp pyamqp://127.0.0.1:5672/

prints each user's AMQP URI (`OMS_<SERVICE>_AMQP_URI` for the services)."""

import argparse
import base64
import json
import os
import secrets
import urllib.parse
import urllib.request
from pathlib import Path

from oms.broker_users import EVENT_EXCHANGES, RPC_EXCHANGE, matrix
from shared import settings


class Management:
    """Calls to a node's management API as an administrator (`http://user:pass@host:port`)."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port}/api/"
        login = f"{urllib.parse.unquote(parts.username or 'guest')}:"
        login += urllib.parse.unquote(parts.password or "guest")
        self.authorization = "Basic " + base64.b64encode(login.encode()).decode()

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json", "authorization": self.authorization},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return json.loads(raw) if raw else None


def passwords(path: Path) -> dict[str, str]:
    """Every user's password: those kept in `path`, and new ones for users it lacks."""
    known = json.loads(path.read_text()) if path.exists() else {}
    wanted = {user: known.get(user) or secrets.token_urlsafe(24) for user in matrix()}
    if wanted != known:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(wanted, out, indent=2, sort_keys=True)
    return wanted


def create_users(management: Management, secrets_by_user: dict[str, str]) -> None:
    """The users, with their passwords and no management tags (they cannot use the API)."""
    for user, password in secrets_by_user.items():
        management.call("PUT", f"users/{user}", {"password": password, "tags": ""})


def grant(management: Management, vhost: str) -> None:
    """Every user's permissions in `vhost`, and the exchanges, in one definitions import."""
    permissions, topics = [], []
    for user, g in matrix().items():
        permissions.append(
            {"user": user, "vhost": vhost, "configure": g.configure, "write": g.write,
             "read": g.read}
        )  # fmt: skip
        topics += [
            {"user": user, "vhost": vhost, "exchange": x, "write": w, "read": r}
            for x, (w, r) in g.topics.items()
        ]
    exchanges = [
        {"name": name, "vhost": vhost, "type": "topic", "durable": True, "auto_delete": False,
         "internal": False, "arguments": {}}
        for name in (RPC_EXCHANGE, *EVENT_EXCHANGES)
    ]  # fmt: skip
    management.call(
        "POST",
        "definitions",
        {"permissions": permissions, "topic_permissions": topics, "exchanges": exchanges},
    )


def uri_as(amqp_uri: str, user: str, password: str) -> str:
    """`amqp_uri` with the given user's credentials instead of its own."""
    parts = urllib.parse.urlsplit(amqp_uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    login = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def provision_node(node, passwords_path: Path, vhost: str = "/") -> dict[str, str]:
    """The users on a node of ours (`RabbitNode`, guest as the administrator over loopback) and
    their grants in `vhost`: {user: its AMQP URI}."""
    management = Management(node.management_uri)
    known = passwords(passwords_path)
    create_users(management, known)
    grant(management, vhost)
    base = node.amqp_uri + urllib.parse.quote(vhost.lstrip("/"), safe="")
    return {user: uri_as(base, user, password) for user, password in known.items()}


def service_logins(node) -> dict[str, dict]:
    """`make run`: on a broker of its own, each service process logs in as its own user and
    knows no other password ({service: its environment}); on another broker, as
    OMS_<SERVICE>_AMQP_URI (or OMS_AMQP_URI) say."""
    if node is None:
        return {}
    uris = provision_node(node, settings.var_dir() / "broker-users.json")
    return {
        name: {"OMS_AMQP_URI": uris[name], f"OMS_{name.upper()}_AMQP_URI": uris[name]}
        for name in (*settings.SERVICES, "gateway")
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("management", help="http://admin:password@host:15672")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--passwords", type=Path, default=Path("var/broker-users.json"))
    parser.add_argument("--amqp", default="pyamqp://127.0.0.1:5672/", help="the URIs' base")
    args = parser.parse_args(argv)
    management = Management(args.management)
    known = passwords(args.passwords)
    create_users(management, known)
    grant(management, args.vhost)
    base = args.amqp.rstrip("/") + "/" + urllib.parse.quote(args.vhost, safe="")
    for user, password in known.items():
        print(f"{user}\t{uri_as(base, user, password)}")


if __name__ == "__main__":
    main()
