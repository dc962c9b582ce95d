"""The "underdog grows" benchmark: a routine task over simulated weeks, with and without consolidation."""
