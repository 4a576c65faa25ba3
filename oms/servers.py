"""`python -m oms.servers ensure | rabbitmq start|stop|status | postgres start|stop|status`."""

import argparse
import sys

from oms.infra import (
    InfraError,
    ensure_chromium_installed,
    ensure_postgres_installed,
    ensure_rabbitmq_installed,
)
from oms.postgres import PostgresCluster
from oms.rabbitmq import RabbitNode


def _rabbitmq_command(args: argparse.Namespace) -> int:
    node = RabbitNode(args.dir, amqp_port=args.port, management_port=args.management_port)
    if args.action == "start":
        ensure_rabbitmq_installed()
        node.start()
    elif args.action == "stop":
        node.stop()
        print(f"stopped {node.name}")
        return 0
    running = node.is_running()
    print(f"node {node.name}: {'running' if running else 'stopped'}")
    print(f"amqp_uri={node.amqp_uri}\nmanagement_uri={node.management_uri}")
    return 0 if running else 3


def _postgres_command(args: argparse.Namespace) -> int:
    cluster = PostgresCluster(args.dir, port=args.port)
    if args.action == "start":
        ensure_postgres_installed()
        cluster.start()
    elif args.action == "stop":
        cluster.stop()
        print(f"stopped PostgreSQL in {cluster.data_dir}")
        return 0
    running = cluster.is_running()
    print(f"postgres {cluster.data_dir}: {'running' if running else 'stopped'}")
    print(f"url={cluster.url('postgres')}")
    return 0 if running else 3


def _ensure_command(args: argparse.Namespace) -> int:
    ensure_rabbitmq_installed()
    ensure_postgres_installed()
    ensure_chromium_installed()
    print("rabbitmq-server, postgresql-15, chromium and chromium-driver are installed")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m oms.servers", description=__doc__)
    servers = parser.add_subparsers(dest="server", required=True)
    ensure = servers.add_parser(
        "ensure", help="install both servers (and Chromium for the tests) from Debian if missing"
    )
    ensure.set_defaults(handler=_ensure_command)
    rabbit = servers.add_parser("rabbitmq", help="a private RabbitMQ node")
    rabbit.add_argument("action", choices=["start", "stop", "status"])
    rabbit.add_argument("--dir", required=True, help="directory holding all of the node's files")
    rabbit.add_argument("--port", type=int, help="AMQP port (default: saved or free)")
    rabbit.add_argument("--management-port", type=int, help="management HTTP port")
    rabbit.set_defaults(handler=_rabbitmq_command)
    pg = servers.add_parser("postgres", help="a throwaway PostgreSQL 15 cluster")
    pg.add_argument("action", choices=["start", "stop", "status"])
    pg.add_argument("--dir", required=True, help="directory holding the cluster")
    pg.add_argument("--port", type=int, help="port (default: saved or free)")
    pg.set_defaults(handler=_postgres_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
