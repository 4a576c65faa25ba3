"""How a domain says no, in one shape for every service (standard library only, so domain modules
may import it): a broken rule is `Refused`, something the caller named that does not exist is
`Missing`. The RPC edge translates both with one table (shared/service.py)."""


class Refused(Exception):
    """A business rule refused a command: `rule` names it, `detail` says more, `field` names the
    input at fault when there is one; keyword context (command, status…) goes into the details."""

    def __init__(
        self, message: str, rule: str, detail: str | None = None, field: str | None = None, **ctx
    ):
        super().__init__(message)
        self.rule, self.detail, self.field, self.context = rule, detail, field, ctx

    def details(self) -> dict:
        return {"rule": self.rule, "detail": self.detail, **self.context}


class Missing(LookupError):
    """Something the caller named is not there; `ids` says what was asked for."""

    def __init__(self, message: str, **ids):
        super().__init__(message)
        self.ids = ids
        vars(self).update(ids)  # `exc.shipping_id`, `exc.sku`…
