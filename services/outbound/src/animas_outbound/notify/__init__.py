"""Notifying people: one adapter per channel type, a handler that retries, records and dead-letters."""
