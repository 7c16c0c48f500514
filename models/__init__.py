"""The domain: events, case state as a fold over events, the append-only event store and its database."""
