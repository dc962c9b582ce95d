"""Webhook ingress: what the gateway records of a webhook request it refused.

A verified webhook becomes an ordinary ``message.received`` with origin ``external``. A refused one
(no signature, a wrong one, a timestamp outside the window) is answered 401 and recorded as
``webhook.rejected`` under the source's anima, so the people running the anima see someone
knocking. The event names the source, the reason and the caller's address: never the body, the
signature or a secret.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from animas_contracts.envelope import Event


class WebhookRejected(Event, frozen=True, kw_only=True, tag="webhook.rejected"):
    """The gateway refused a request to a webhook source of this anima (401)."""

    source: Annotated[str, Meta(description="The webhook source's name (config.json webhooks.sources).")]
    kind: Annotated[str, Meta(description="The source's kind: slack, chatwork or generic.")]
    reason: Annotated[
        str,
        Meta(
            description="Why: missing_signature, bad_signature, missing_timestamp, bad_timestamp, "
            "stale_timestamp or future_timestamp."
        ),
    ]
    remote_address: Annotated[
        str | None, Meta(description="The caller's IP address as the gateway saw it (null if unknown).")
    ] = None
