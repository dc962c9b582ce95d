"""#17: a generic source's callback, as outbound signs it, is what the gateway's generic ingress
accepts (the same scheme both ways), with the newest secret during rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from animas_contracts import ResponseSent
from animas_core.config import parse_config
from animas_gateway.webhook_signatures import SignatureRejected, verify_generic
from animas_outbound.replies.platforms import ReplyPoster
from animas_outbound.replies.targets import reply_target
from animas_tools.fake_receivers import FakeReceiver

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def test_a_callback_signed_by_outbound_verifies_at_a_generic_ingress() -> None:
    with FakeReceiver() as receiver:
        config = parse_config({"webhooks": {"sources": {"ci": {
            "kind": "generic", "anima": "sample", "secrets": ["old-secret", "new-secret"],
            "callback_url": receiver.url + "/hook"}}}})  # fmt: skip
        answer = ResponseSent(
            anima="sample",
            correlation_id="m",
            producer="agent-runner",
            text="Deployed.",
            in_reply_to="m",
            to="webhook:ci:bob",
            thread_id="webhook:ci:deploy-7",
            source="ci",
        )
        target = reply_target(answer, dict(config.webhooks.sources))
        async with httpx.AsyncClient(timeout=5.0) as client:
            await ReplyPoster(client, 5.0, clock=NOW.timestamp).post(target, answer.text, "key-1")
    (got,) = receiver.received
    signature, ts = got.headers["X-Animaworks-Signature"], got.headers["X-Animaworks-Timestamp"]
    verify_generic(["new-secret"], signature, ts, got.body, NOW)  # the receiver's side, rotated
    with pytest.raises(SignatureRejected):
        verify_generic(["old-secret"], signature, ts, got.body, NOW)
