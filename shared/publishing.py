"""What a service publishes, declared once: each private domain event class mapped to a public
contract name and the function that builds its data. The relay and `events_after` use the map;
a domain event that is not in it stays private."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Publish:
    """`name` is the contract's name (or a function of the built data, when one domain event is
    published as one of several contracts); `data(app, domain_event)` builds its payload."""

    name: str | Callable[[dict], str]
    data: Callable[[object, object], dict]

    def event(self, app, domain_event) -> tuple[str, dict]:
        data = self.data(app, domain_event)
        return (self.name(data) if callable(self.name) else self.name), data
