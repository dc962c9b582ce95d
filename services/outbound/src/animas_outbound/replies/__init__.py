"""Answers to people outside, posted back where their message came from (#17 item 2)."""
