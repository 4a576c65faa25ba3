"""structlog JSON logs, one line an event, carrying the correlation id of the work in hand."""

import logging
import sys

import structlog

from shared import settings


def configure(service: str | None = None, stream=None) -> None:
    """JSON lines on `stream` (stderr by default), each with the service and correlation id."""
    stream = stream or sys.stderr
    level = getattr(logging, settings.Settings.load().log_level.upper(), logging.INFO)
    logging.basicConfig(stream=stream, level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    if service:
        structlog.contextvars.bind_contextvars(service=service)


def get(name: str):
    return structlog.get_logger(name)
