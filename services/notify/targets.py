"""Where webhooks may go: public http(s) addresses only, unless settings allow loopback or private
ones (`OMS_WEBHOOK_ALLOW`). A name is resolved when a subscription is made and again before every
delivery, so a name that later points inside the network is refused then too."""

import ipaddress
import socket
from urllib.parse import urlsplit


def allowed(setting: str) -> set[str]:
    return set(filter(None, setting.replace(" ", "").split(",")))


def target_problem(url: str, allow: set[str]) -> str | None:
    """Why `url` may not receive webhooks, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "Must not carry a user or password: the signature authenticates the sender."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except ValueError:
        return "Has an invalid port."
    except OSError as exc:
        return f"The host {parts.hostname} does not resolve ({exc.strerror or exc})."
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        kind = _kind(address)
        if kind != "public" and kind not in allow:
            return (
                f"{parts.hostname} is a {kind} address ({address}); webhooks go to public"
                f" addresses unless OMS_WEBHOOK_ALLOW names {kind}."
            )
    return None


def _kind(address) -> str:
    if address.is_loopback or address.is_unspecified:  # 0.0.0.0 reaches this host too
        return "loopback"
    return "public" if address.is_global else "private"
