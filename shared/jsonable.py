"""What crosses RPC and HTTP as JSON: Decimals as strings (never floats), containers copied."""

from decimal import Decimal


def jsonable(value):
    """Decimals become strings (never floats); containers are copied through."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
