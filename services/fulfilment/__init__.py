"""The fulfilment service."""
