"""Ports to the outside: memory-writer and priming over the bus, the model through litellm."""
