"""Priming rules with no I/O: message types, budgets, ranking, the memory graph and prompt sections."""
