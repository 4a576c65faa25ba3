"""The floor: `python -m bench.floor <service>` runs a service exactly as `python -m oms.serve`
does (its RPC, its store, its relay with publisher confirms, its followers' queues, batches and
acks), except that every reaction to an upstream event is nothing: each follower only records its
tracking. What the system does beyond that is the work of the reactions; the floor's orders/s and
CPU per order, measured in the same run, are what the stack allows.
"""

from oms import serve  # monkey-patches first
from shared.store import ServiceApplication


def _nothing(self, envelope: dict) -> list:
    return []


ServiceApplication.react = _nothing

if __name__ == "__main__":
    serve.main()
