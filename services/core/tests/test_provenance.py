"""The subject is the authority: what a subject claims, and payloads that disagree with it."""

from __future__ import annotations

import pytest

from animas_contracts import ContractError, IdentityRevised, MessageReceived, ModelDelta, encode_event
from animas_core.provenance import SubjectClaim, SubjectMismatch, claim_of, decode_delivered


def _message(anima: str = "tanaka") -> MessageReceived:
    return MessageReceived(
        anima=anima, correlation_id="c", producer="gateway", text="hi", sender="human", thread_id="t"
    )


@pytest.mark.parametrize(
    ("subject", "claim"),
    [
        ("activity.tanaka.message.received", SubjectClaim("tanaka", "message.received")),
        ("activity.17.tanaka.message.received", SubjectClaim("tanaka", "message.received")),
        ("activity.3.a-b_c.memory.op.applied", SubjectClaim("a-b_c", "memory.op.applied")),
        ("delta.tanaka", SubjectClaim("tanaka", "model.delta")),
    ],
)
def test_a_subject_names_the_anima_and_the_type(subject: str, claim: SubjectClaim) -> None:
    assert claim_of(subject) == claim


@pytest.mark.parametrize(
    "subject",
    ["activity", "activity.tanaka", "activity.3.tanaka", "activity..x", "rpc.memory.read.a", "delta."],
)
def test_a_subject_that_carries_no_event_is_refused(subject: str) -> None:
    with pytest.raises(SubjectMismatch, match="not an event subject"):
        claim_of(subject)


def test_an_event_on_its_own_subject_decodes() -> None:
    message = _message()
    assert decode_delivered("activity.4.tanaka.message.received", encode_event(message)) == message
    assert decode_delivered("activity.tanaka.message.received", encode_event(message)) == message


def test_a_payload_of_another_type_than_the_subject_is_refused() -> None:
    revision = IdentityRevised(anima="tanaka", correlation_id="c", producer="x", content="#", author="a")
    with pytest.raises(
        SubjectMismatch, match=r"payload type 'identity\.revised' .* carries 'cycle\.started'"
    ):
        decode_delivered("activity.0.tanaka.cycle.started", encode_event(revision))


def test_a_payload_naming_another_anima_than_the_subject_is_refused() -> None:
    with pytest.raises(SubjectMismatch, match=r"payload anima 'suzuki' .* belongs to 'tanaka'"):
        decode_delivered("activity.0.tanaka.message.received", encode_event(_message("suzuki")))
    delta = ModelDelta(
        anima="suzuki", correlation_id="c", producer="agent-runner", cycle_id="y", in_reply_to="m", seq=0
    )
    with pytest.raises(SubjectMismatch):
        decode_delivered("delta.tanaka", encode_event(delta))


def test_a_mismatch_is_a_contract_error_so_the_policy_dead_letters_it() -> None:
    assert issubclass(SubjectMismatch, ContractError)
