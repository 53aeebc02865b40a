"""Outgoing mail: an outbox table drained by a background sender with retries."""
