"""Who may do what on the broker, in one table: a user per service and per client role, each with
RabbitMQ's three permission regexes (configure, write, read: on queue and exchange names) and
topic permissions (routing-key regexes: write on publish, read on bind) per exchange.

What the names are, and why each user needs them:
- nameko RPC: exchange `nameko-rpc`; a service consumes `rpc-<service>` (bound with `<service>.*`);
  callers declare reply queues `rpc.reply-<service>-<uuid>` (`standalone_rpc_proxy` for
  `ClusterRpcProxy`, which the followers use) bound with the uuid. Requests are routed by
  `<service>.<method>` and replies by the caller's reply key, which has no dot — so a user may
  publish replies to anyone, but requests only to the methods it calls.
- events: each service publishes to its own `<service>.events` (routing key: the event name);
  its followers consume `<consumer>.from.<upstream>[.<instance>]` bound to the upstream's.
- nameko declares `nameko-rpc` on every start (never passively): every RPC user needs configure
  on it, which RabbitMQ also takes for deleting it — there is no declare-only permission. Event
  exchanges are declared passively by consumers (shared/relay.py), so only their owner has it.
"""

from dataclasses import dataclass, field

from shared.settings import SERVICES

RPC_EXCHANGE = "nameko-rpc"
EVENT_EXCHANGES = tuple(f"{s}.events" for s in SERVICES)
REPLY_KEY = r"[^.]+"  # a reply's routing key: nameko's uuid, or probe-/raw-<hex>; never dotted
EVENT_NAME = r"[a-z][a-z0-9_]*"  # the relay's routing keys (`order_accepted`)

#: the upstreams each service follows (its application's `follows`; pinned by a test)
FOLLOWS = {
    "orders": ("billing", "production", "fulfilment"),
    "billing": ("orders",),
    "fulfilment": ("orders",),
    "production": ("orders",),
    "notify": ("orders", "billing", "production", "fulfilment"),
}
#: the RPC methods each service calls from its own code (its `RpcProxy`s; pinned by a test),
#: besides `<upstream>.events_page`, which its followers call
CALLS = {
    "notify": ("orders.get_order", "orders.personal_keys"),
    "fulfilment": ("orders.get_order", "orders.choose_distributors", "orders.personal_keys"),
    # every service opening personal data asks orders for its subjects' keys (shared/personal.py)
    "billing": ("orders.personal_keys",),
    "production": ("orders.personal_keys",),
}
CLIENT_ROLES = ("storefront", "backoffice", "integrator", "oms")


@dataclass(frozen=True)
class Grant:
    """What one user may do in a vhost. `topics`: {exchange: (write regex, read regex)} on
    routing keys; an exchange not named there is not restricted by routing key."""

    configure: str
    write: str
    read: str
    topics: dict[str, tuple[str, str]] = field(default_factory=dict)


def lit(name: str) -> str:
    """A name as a regex that matches it literally (names hold letters, digits, `_-.*`)."""
    return name.replace(".", r"\.").replace("*", r"\*")


def one_of(*patterns: str) -> str:
    """A regex matching any of `patterns` whole (none: nothing at all)."""
    return f"^({'|'.join(patterns)})$" if patterns else "^$"


def service_grant(service: str) -> Grant:
    """A service (or the gateway): its RPC queue, reply queues and follower queues, its own
    event exchange; reads the events of what it follows (the gateway: of every service)."""
    queues = [lit(f"rpc-{service}"), rf"rpc\.reply-({service}|standalone_rpc_proxy)-.+"]
    queues.append(rf"{service}\.from\..+" if service != "gateway" else r"gateway\.live\..+")
    owned = [lit(RPC_EXCHANGE)] + ([lit(f"{service}.events")] if service in SERVICES else [])
    upstreams = SERVICES if service == "gateway" else FOLLOWS[service]
    calls = [lit(f"{u}.events_page") for u in FOLLOWS.get(service, ())]
    calls += [lit(c) for c in CALLS.get(service, ())]
    if service == "gateway":  # the edge: roles are checked per API key before it calls
        calls = [rf"({'|'.join(SERVICES)})\.[a-z_]+"]
    topics = {RPC_EXCHANGE: (one_of(REPLY_KEY, *calls), one_of(lit(f"{service}.*"), REPLY_KEY))}
    if service in SERVICES:
        topics[f"{service}.events"] = (one_of(EVENT_NAME), one_of())
    return Grant(
        configure=one_of(*queues, *owned),
        write=one_of(*queues, *owned),
        read=one_of(*queues, lit(RPC_EXCHANGE), *(lit(f"{u}.events") for u in upstreams)),
        topics=topics,
    )


def rpc_client_grant(calls: list[str]) -> Grant:
    """A client over nameko RPC: its reply queues, and requests to `calls` only."""
    names = one_of(r"rpc\.reply-.+", lit(RPC_EXCHANGE))
    topics = {RPC_EXCHANGE: (one_of(*calls), one_of(REPLY_KEY))}
    return Grant(configure=names, write=names, read=names, topics=topics)


def route_calls(*roles: str) -> list[str]:
    """The RPC methods the gateway's routes for `roles` call, as literal regexes (a storefront
    calling the services directly may do what a storefront key may over HTTP)."""
    from services.gateway.routes import ROUTES

    calls = sorted({".".join(r.call) for r in ROUTES if r.role in roles and r.call})
    return [lit(c) for c in calls]


def integrator_grant(prefix: str = "integrator") -> Grant:
    """Reads events: declares, binds and consumes its own `<prefix>.*` queues; no RPC, and
    publishes nowhere (a `<prefix>.*` exchange of its own would reach nobody)."""
    own = rf"{lit(prefix)}\..+"
    events = [lit(x) for x in EVENT_EXCHANGES]
    return Grant(configure=one_of(own), write=one_of(own), read=one_of(own, *events))


def oms_grant() -> Grant:
    """The ops CLI: any RPC (it acts as admin with its token), `oms tail` on every event
    exchange, the liveness probe of `make run`."""
    queues = [r"rpc\.reply-.+", r"oms-tail-.+", r"probe-.+"]
    read = one_of(*queues, lit(RPC_EXCHANGE), *(lit(x) for x in EVENT_EXCHANGES))
    return Grant(
        configure=one_of(*queues, lit(RPC_EXCHANGE)),
        write=one_of(*queues, lit(RPC_EXCHANGE)),
        read=read,
        topics={RPC_EXCHANGE: (".*", ".*")},
    )


def matrix() -> dict[str, Grant]:
    """Every user and its grant: the five services, the gateway and the client roles."""
    users = {name: service_grant(name) for name in (*SERVICES, "gateway")}
    users["storefront"] = rpc_client_grant(route_calls("storefront"))
    users["backoffice"] = rpc_client_grant(route_calls("storefront", "operator"))
    users["integrator"] = integrator_grant()
    users["oms"] = oms_grant()
    return users
