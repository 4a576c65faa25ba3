"""structlog JSON logs, one line an event, carrying the correlation id of the work in hand.

Logs are no place for personal data: e-mail addresses and phone numbers (E.164, as the services
keep them) in any logged text are masked, and so are the query strings and signed-link tokens of
the web servers' access lines (a search for a client's name, a tracking link). Code logs ids,
sizes and hashes, never bodies."""

import logging
import re
import sys

import structlog

from shared import settings

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d{8,15}\b")
QUERY = re.compile(r"\?[^\s\"']*")
TOKEN = re.compile(r"/(track|courier)/[^\s\"'/?]+")
WEB_LOGGERS = ("nameko.web", "eventlet.wsgi")
_handler: logging.Handler | None = None  # the standard library's lines go here


def redact(text: str) -> str:
    """`text` with e-mail addresses and phone numbers masked."""
    return PHONE.sub("<phone>", EMAIL.sub("<email>", text))


def _redact_event(_, __, event: dict) -> dict:
    """structlog: every text value of a log line, redacted."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


class Redacting(logging.Filter):
    """The standard library's lines (nameko, eventlet, the web servers' access log), redacted;
    the access log also loses query strings and the tokens of signed links."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = redact(record.getMessage())
        if record.name.startswith(WEB_LOGGERS):
            text = TOKEN.sub(r"/\1/<token>", QUERY.sub("?<query>", text))
        record.msg, record.args = text, None
        return True


def configure(service: str | None = None, stream=None) -> None:
    """JSON lines on `stream` (stderr by default), each with the service and correlation id."""
    stream = stream or sys.stderr
    level = getattr(logging, settings.Settings.load().log_level.upper(), logging.INFO)
    global _handler
    root = logging.getLogger()
    if _handler is not None:  # configured before (a test, another stream): this one instead
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(stream)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _handler.addFilter(Redacting())
    root.addHandler(_handler)
    root.setLevel(level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
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
