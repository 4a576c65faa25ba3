"""Who is acting: short-lived signed actor tokens (HS256 JWTs: key name, role, expiry).

The gateway turns an API key into a token and sends it in the RPC context (`actor_token`); every
service verifies it on state-changing calls, so a broker client cannot name an actor it holds no
token for. The CLI, benchmarks and tests mint their own from the local secret (OMS_ACTOR_SECRET,
made once by `make run` in var/actor-secret).
"""

import time

import jwt

TOKEN_KEY = (
    "actor_token"  # the RPC context entry (nameko sends it as the `nameko.actor_token` header)
)
ROLES = ("storefront", "operator", "admin")  # each may do what the ones before it may
ISSUER = "oms"
LEEWAY_SECONDS = 5  # clocks of the gateway and a service may differ this much


class BadToken(Exception):
    """The token is missing, forged, expired or malformed; the message says which."""


def mint(secret: str, name: str, role: str, ttl_seconds: float = 60, now: float | None = None):
    """A token for `name` acting as `role`, valid for `ttl_seconds`."""
    if not secret:
        raise BadToken("no actor secret is set (OMS_ACTOR_SECRET)")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    issued = int(now if now is not None else time.time())
    claims = {"iss": ISSUER, "sub": name, "role": role, "iat": issued}
    claims["exp"] = issued + int(ttl_seconds)
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token) -> dict:
    """`{"name": …, "role": …, "expires": unix seconds}` of a genuine, unexpired token."""
    if not token:
        raise BadToken("no actor token was sent")
    if not secret:
        raise BadToken("this service has no actor secret (OMS_ACTOR_SECRET) to check tokens with")
    if not isinstance(token, str) or len(token) > 2000:
        raise BadToken("the actor token is malformed")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise BadToken("the actor token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise BadToken(f"the actor token is not valid: {exc}") from None
    name, role = claims.get("sub"), claims.get("role")
    if not isinstance(name, str) or not 0 < len(name) <= 200 or role not in ROLES:
        raise BadToken("the actor token names no valid actor or role")
    return {"name": name, "role": role, "expires": claims["exp"]}


def allows(role: str | None, needed: str) -> bool:
    """Whether `role` may do what `needed` may (admin ⊇ operator ⊇ storefront)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def rpc_context(secret: str, name: str, role: str = "admin", ttl_seconds: float = 3600) -> dict:
    """Context data for a `ClusterRpcProxy` acting as `name` (the CLI, tests, benchmarks)."""
    return {TOKEN_KEY: mint(secret, name, role, ttl_seconds)}


def local_secret(configured: str = "", create: bool = False) -> str:
    """The actor secret: the configured one, else the machine's own in var/actor-secret (made
    by `make run` on first start, or here with `create`); '' if there is none."""
    if configured:
        return configured
    from shared.settings import var_dir

    path = var_dir() / "actor-secret"
    if not path.exists():
        if not create:
            return ""
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
