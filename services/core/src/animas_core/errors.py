"""The error policy's vocabulary: who acts on an error decides its class.

- :class:`RetryableError`: the world may change (a timeout, a service not reachable yet). The
  message is redelivered with backoff, and dead-lettered when deliveries run out.
- :class:`PoisonMessage` and :class:`animas_contracts.ContractError`: retrying cannot help (the
  bytes are malformed, the event is invalid). The message goes to ``DEADLETTER`` at once.
- Anything else is unexpected: it is logged with its traceback and treated as retryable, so a
  bug costs a few redeliveries and a dead letter, never a stuck consumer.
"""

from __future__ import annotations


class RetryableError(Exception):
    """A failure that may pass if the message is tried again later."""


class PoisonMessage(Exception):
    """A message that can never be processed; it belongs in the dead-letter stream."""
