"""The gateway in front of the five services, shared by the gateway's tests (each adds its own
data), with one key per role."""

import pytest
import requests

from oms.serve import SERVICE_CLASSES
from tests.conftest import fresh_store, fresh_vhost
from tests.support import System, eventually, random_ref

ROLES = ("storefront", "operator", "admin")


class Client:
    """HTTP calls to the gateway as one API key (None: no key at all)."""

    def __init__(self, url: str, key: str | None):
        self.url, self.key = url, key
        self.session = requests.Session()

    def request(self, method: str, path: str, body=None, headers=None, **kwargs):
        sent = dict(headers or {})
        if self.key is not None:
            sent.setdefault("Authorization", f"Bearer {self.key}")
        if body is not None:
            kwargs["json"] = body
        url = path if path.startswith("http") else self.url + path
        return self.session.request(method, url, headers=sent, timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)


class Api:
    def __init__(self, system: System, keys: dict):
        self.system, self.url, self.keys = system, system.api_url, keys
        self.as_ = {role: Client(self.url, key) for role, key in keys.items()}
        self.anonymous = Client(self.url, None)

    def __getattr__(self, role: str) -> Client:
        if role in ROLES:
            return self.as_[role]
        raise AttributeError(role)

    def key(self, role: str, name: str | None = None) -> Client:
        """A client with a new key of `role`."""
        name = name or random_ref(f"{role}-")
        with self.system.rpc() as rpc:
            created = rpc.gateway.create_key(name, role)
        return Client(self.url, created["key"])


def start_api(uri: str, urls: dict, **config) -> Api:
    # webhooks may go to the tests' local receivers, and retry quickly
    config = {"WEBHOOK_ALLOW": "loopback", "WEBHOOK_BACKOFF_SECONDS": 0.1, **config}
    system = System(uri, urls, services=(*SERVICE_CLASSES, "gateway"), **config)
    system.__enter__()
    with system.rpc() as rpc:
        created = {role: rpc.gateway.create_key(random_ref(f"{role}-"), role) for role in ROLES}
    api = Api(system, {role: c["key"] for role, c in created.items()})
    api.names = {role: c["name"] for role, c in created.items()}
    eventually(lambda: api.anonymous.get("/v1/health").status_code == 200, timeout=60)
    return api


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def api(request, rabbit, tmp_path_factory):
    """The gateway and the five services on one store kind, with a key per role."""
    with (
        fresh_vhost(rabbit) as uri,
        fresh_store(request.param, tmp_path_factory.mktemp("db"), request) as urls,
    ):
        running = start_api(uri, urls, CORS_ORIGINS="https://shop.example")
        running.store = request.param
        try:
            yield running
        finally:
            running.system.__exit__(None, None, None)


@pytest.fixture(scope="session")
def sqlite_api(rabbit, tmp_path_factory):
    """The same on SQLite only, for what does not depend on the store (roles, the spec)."""
    with (
        fresh_vhost(rabbit) as uri,
        fresh_store("sqlite", tmp_path_factory.mktemp("db"), None) as urls,
    ):
        running = start_api(uri, urls)
        try:
            yield running
        finally:
            running.system.__exit__(None, None, None)
