"""Run services in this process: `python -m oms.serve orders billing` (all five and the gateway
when none named)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared import logging as oms_logging  # noqa: E402
from shared import settings  # noqa: E402

SERVICE_CLASSES = {
    "orders": "services.orders.service:OrdersService",
    "billing": "services.billing.service:BillingService",
    "fulfilment": "services.fulfilment.service:FulfilmentService",
    "production": "services.production.service:ProductionService",
    "notify": "services.notify.service:NotifyService",
}  # the event-sourced services
EDGES = {"gateway": "services.gateway.service:GatewayService"}  # HTTP in front of them
RUNNABLE = {**SERVICE_CLASSES, **EDGES}


def service_class(name: str):
    module, cls = RUNNABLE[name].split(":")
    return getattr(importlib.import_module(module), cls)


class Runner(ServiceRunner):
    """nameko's runner, giving each service its own broker URI (its own user, when it has one:
    `OMS_<SERVICE>_AMQP_URI`), so services sharing a process still log in as themselves."""

    def add_service(self, cls):
        name = cls.name
        config = dict(self.config, AMQP_URI=settings.service_amqp_uri(name, self.config))
        tls = settings.Settings.load(config).amqp_ssl()  # an `amqps://` URI of its own
        if tls is not None:
            config["AMQP_SSL"] = tls
        self.service_map[name] = self.container_cls(cls, config)


def build_runner(names, config: dict | None = None) -> ServiceRunner:
    runner = Runner(config or settings.Settings.load().nameko_config())
    for name in names:
        runner.add_service(service_class(name))
    return runner


STOP_SECONDS = 5.0  # a container stuck in a reconnect loop to a dead broker is killed after this


def stop_within(runner: ServiceRunner, seconds: float, log) -> None:
    """Stop the containers gracefully; kill those still stopping after `seconds` (nameko retries
    a dead broker for 30 s per attempt); leave the process if even that hangs."""
    try:
        with eventlet.Timeout(seconds):
            runner.stop()
        return
    except eventlet.Timeout:
        log.warning("stop_timed_out", seconds=seconds)
    try:
        with eventlet.Timeout(2):
            runner.kill()
    except eventlet.Timeout:
        log.error("kill_timed_out")
        os._exit(1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", metavar="service", help=", ".join(RUNNABLE))
    names = parser.parse_args(argv).services or list(RUNNABLE)
    unknown = sorted(set(names) - set(RUNNABLE))
    if unknown:
        parser.error(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(RUNNABLE)}")
    oms_logging.configure("+".join(names))
    log = oms_logging.get("serve")
    loaded = settings.Settings.load()
    runner = build_runner(names, loaded.nameko_config())
    stopping = []

    def on_signal(*_):
        if stopping:  # a second signal: no more waiting
            os._exit(1)
        stopping.append(True)
        eventlet.spawn_n(stop_within, runner, STOP_SECONDS, log)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    runner.start()
    brokers = {n: settings.service_amqp_uri(n).split("@")[-1] for n in names}
    log.info("services_started", services=names, amqp=brokers)
    try:
        runner.wait()  # returns when stopped; raises if a service container died
    except Exception as exc:  # noqa: BLE001 - exit non-zero so a supervisor restarts us
        if stopping:
            log.info("services_stopped", services=names, forced=repr(exc))
            return
        log.error("service_died", services=names, error=repr(exc))
        runner.kill()
        sys.exit(1)
    log.info("services_stopped", services=names)


if __name__ == "__main__":
    main()
