"""What every service shares: settings, logging, contracts, the event store, relay and follower."""
