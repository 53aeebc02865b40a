"""Data retention: account deletions and the purge schedule in ``docs/safety.md``."""
