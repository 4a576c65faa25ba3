"""The services in this process, on SQLite files, without a broker: the middle of the test pyramid.

Each service is its real class given its real application (nameko's service classes are plain
classes; an entrypoint is a method), so validation, refusals, translations and views are the
RPC's own. Between services a synchronous pump does what each follower does — read the
upstream's log page by page (`events_page`), `handle` each event with its tracking record in one
transaction, move past private events — only without AMQP. What crosses processes (the relay,
the follower's queue, redelivery) is tested against the running system instead.
"""

from nameko.rpc import RpcProxy

from oms.serve import service_class
from shared import context, segments
from shared.sealing import Keyring
from shared.service import make_sender
from shared.settings import SERVICES, Settings


class InProcess:
    def __init__(
        self,
        directory,
        services=SERVICES,
        actor: str = "tests",
        role: str = "admin",
        urls: dict | None = None,
        **settings,
    ):
        """`urls`: {service: store URL} (the `store` fixture's, for PostgreSQL); else SQLite
        files in `directory`."""
        self.settings = Settings.load(settings)
        self.actor, self.role = actor, role
        self.apps, self.services = {}, {}
        for name in services:
            cls = service_class(name)
            app_class = vars(cls)["app"].app_class  # the EventSourced dependency's application
            url = (urls or {}).get(name) or f"sqlite:///{directory}/{name}.sqlite3"
            self.apps[name] = app_class(url, self.settings)
            service = cls()
            service.app = self.apps[name]
            self.services[name] = service
        for service in self.services.values():  # a service's RPC to another: a plain call
            for attr, dependency in vars(type(service)).items():
                if isinstance(dependency, RpcProxy) and dependency.target_service in self.services:
                    setattr(service, attr, self.services[dependency.target_service])
        if "orders" in self.apps:  # the keys to clients' sealed data: asked of orders, as over RPC
            for name, app in self.apps.items():
                if name != "orders":
                    app.keyring = Keyring(self.apps["orders"].personal_keys, seconds=0)

    def __getattr__(self, name: str) -> "Calls":
        if name in self.__dict__.get("services", {}):
            return Calls(self, self.services[name])
        raise AttributeError(name)

    def pump(self) -> int:
        """Deliver every upstream's new events to the services that follow it, until quiet."""
        moved, progress = 0, True
        while progress:
            progress = False
            for app in self.apps.values():
                for upstream in app.follows:
                    if upstream in self.apps:
                        n = self._follow(app, self.apps[upstream])
                        moved, progress = moved + n, progress or bool(n)
        return moved

    @staticmethod
    def _follow(app, upstream) -> int:
        """Like the follower: every event of each segment after where that segment stands."""
        name, count = upstream.service, app.segments(upstream.service)
        stands = segments.positions(app, name, count)
        position, moved = min(stands.values()), 0
        while True:
            page = upstream.events_page(position, 200)
            for env in page["events"]:
                key = app.segment_key(env)
                segment = None if key is None else segments.segment_of(key, count)
                if segment is not None and env["sequence"] <= stands[segment]:
                    continue  # its segment is past it
                with context.bound(correlation_id=env["correlationid"], causation_id=env["id"]):
                    app.handle(env, app.tracking_for(name, env))
                if segment is not None:
                    stands[segment] = env["sequence"]
                moved += 1
            if page["scanned_to"] > position:
                app.track_all(name, page["scanned_to"])
                position = page["scanned_to"]
            if not page["more"]:
                return moved

    def send(self, service: str, passes: int = 1) -> int:
        """Run the service's sender by hand, as its own thread would: each pass tries every
        send due now, once; then the pump delivers what the attempts published. Answers how
        many were tried."""
        factory = vars(service_class(service))["app"].channels
        sender = make_sender(self.apps[service], factory(self.settings), self.settings)
        try:
            tried = sum(sender.send_due() for _ in range(passes))
        finally:
            sender._leader.release()
            for channel in sender.channels.values():
                getattr(channel, "close", lambda: None)()
        self.pump()
        return tried

    def close(self) -> None:
        for app in self.apps.values():
            app.close()


class Calls:
    """`desk.orders.accept_order(id)`: a service method called as the acting user, after which
    the pump delivers whatever it published."""

    def __init__(self, desk: InProcess, service):
        self.desk, self.service = desk, service

    def __getattr__(self, method: str):
        bound = getattr(self.service, method)

        def call(*args, **kwargs):
            with context.bound(actor=self.desk.actor, role=self.desk.role):
                result = bound(*args, **kwargs)
            self.desk.pump()
            return result

        return call
