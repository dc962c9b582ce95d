"""The organization-work routes over a real nats-server: conversations, tasks, boards, consolidation runs.

A nats-server with each service's user and rights, provisioned as ``anima up`` leaves it. The
events a small organization would have stored (a person and alice talking, alice asking bob
something, alice delegating two tasks to bob and bob reporting on one, a board with posts, two
consolidation runs) are published as the services would; memory-writer's board projection is
fed the same board events and answers ``rpc.memory.board`` in-process as memory-writer's user.
The routes run in a Starlette app of their own operations, read the stream as the gateway's
user, and are called over HTTP (httpx's ASGI transport, from loopback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
from nats.aio.msg import Msg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from tests.conftest import connect_as

from animas_contracts import (
    AnimaListReply,
    AnimaSummary,
    BoardCreated,
    BoardJoined,
    ChannelPosted,
    ConsolidationFinished,
    ConsolidationKind,
    ConsolidationMethod,
    ConsolidationPlanned,
    ConsolidationStarted,
    ConsolidationStatus,
    Event,
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundDelivered,
    OutboundKind,
    ReportOutcome,
    ReportTaken,
    ResponseSent,
    TaskAssigned,
    TaskDelegated,
    TaskLink,
    TaskReported,
    encode_event,
)
from animas_contracts.subjects import (
    HEADER_EVENT_TYPE,
    HEADER_MSG_ID,
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_BOARD,
    activity_subject,
)
from animas_core.api_config import ApiConfig
from animas_gateway.api import boards, conversations, work
from animas_gateway.auth import Authentication
from animas_gateway.directory import AnimaDirectory
from animas_gateway.operations import openapi_document, routes
from animas_gateway.outage import guard_broker_outages
from animas_memory_writer.adapters.boards import BoardStore
from animas_memory_writer.board_reads import BoardServer
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ANIMAS = ("alice", "bob")


def _env(anima: str, minute: int, id: str, correlation: str = "c") -> dict[str, Any]:
    return {
        "anima": anima,
        "correlation_id": correlation,
        "producer": "test",
        "id": id,
        "ts": T0 + timedelta(minutes=minute),
    }


def _task_events(task: str, instruction: str, minute: int) -> list[Event]:
    """alice delegates ``task`` to bob: outbound delivers the task message and records both sides."""
    link = TaskLink(supervisor="alice", supervisor_task_id=task, task_id=f"{task}-b", assignee="bob")
    thread = f"task-{task}"
    return [
        OutboundDelivered(
            **_env("alice", minute, f"{task}-sent"),
            request_id=f"{task}-req",
            kind=OutboundKind.MESSAGE,
            to="bob",
            delivered_id=f"{task}-msg",
            text=instruction,
            intent=MessageKind.TASK,
            thread_id=thread,
        ),
        MessageReceived(
            **_env("bob", minute, f"{task}-msg"),
            text=instruction,
            sender="alice",
            thread_id=thread,
            origin=MessageOrigin.ANIMA,
            kind=MessageKind.TASK,
            task=link,
        ),
        TaskDelegated(
            **_env("alice", minute, f"{task}-del"),
            task_id=task,
            assignee="bob",
            assignee_task_id=f"{task}-b",
            instruction=instruction,
            thread_id=thread,
            request_id=f"{task}-req",
        ),
        TaskAssigned(
            **_env("bob", minute, f"{task}-asg"),
            message_id=f"{task}-msg",
            supervisor="alice",
            instruction=instruction,
            thread_id=thread,
            task=link,
            request_id=f"{task}-req",
        ),
    ]


def _report_events(task: str, summary: str, minute: int) -> list[Event]:
    """bob reports ``task`` done; alice's waiting delegate_task takes the report."""
    link = TaskLink(
        supervisor="alice",
        supervisor_task_id=task,
        task_id=f"{task}-b",
        assignee="bob",
        outcome=ReportOutcome.DONE,
    )
    thread = f"task-{task}"
    return [
        OutboundDelivered(
            **_env("bob", minute, f"{task}-rsent"),
            request_id=f"{task}-rreq",
            kind=OutboundKind.MESSAGE,
            to="alice",
            delivered_id=f"{task}-rmsg",
            text=summary,
            intent=MessageKind.REPORT,
            thread_id=thread,
        ),
        MessageReceived(
            **_env("alice", minute, f"{task}-rmsg"),
            text=summary,
            sender="bob",
            thread_id=thread,
            origin=MessageOrigin.ANIMA,
            kind=MessageKind.REPORT,
            task=link,
        ),
        TaskReported(
            **_env("bob", minute, f"{task}-rep"),
            task_id=f"{task}-b",
            supervisor="alice",
            supervisor_task_id=task,
            outcome=ReportOutcome.DONE,
            summary=summary,
            thread_id=thread,
            request_id=f"{task}-rreq",
        ),
        ReportTaken(
            **_env("alice", minute, f"{task}-taken"), report_id=f"{task}-rmsg", task_id=task, cycle_id="cy"
        ),
    ]


def _conversation_events() -> list[Event]:
    """A person and alice in dm:human; alice asks bob in ask-bob and bob's answer comes back."""
    return [
        MessageReceived(**_env("alice", 0, "m1"), text="hello", sender="human", thread_id="dm:human"),
        ResponseSent(
            **_env("alice", 1, "r1"), text="hi!", in_reply_to="m1", to="human", thread_id="dm:human"
        ),
        OutboundDelivered(
            **_env("alice", 2, "q-sent"),
            request_id="q-req",
            kind=OutboundKind.MESSAGE,
            to="bob",
            delivered_id="q-msg",
            text="what's the plan?",
            thread_id="ask-bob",
        ),
        MessageReceived(
            **_env("bob", 2, "q-msg"),
            text="what's the plan?",
            sender="alice",
            thread_id="ask-bob",
            origin=MessageOrigin.ANIMA,
        ),
        ResponseSent(
            **_env("bob", 3, "q-ans"),
            text="plan X",
            in_reply_to="q-msg",
            to="alice",
            thread_id="ask-bob",
            deliver=True,
        ),
        OutboundDelivered(
            **_env("bob", 3, "q-ans-sent"),
            request_id="q-ans",
            kind=OutboundKind.MESSAGE,
            to="alice",
            delivered_id="q-ans-msg",
            text="plan X",
            intent=MessageKind.REPLY,
            thread_id="ask-bob",
        ),
        MessageReceived(
            **_env("alice", 3, "q-ans-msg"),
            text="plan X",
            sender="bob",
            thread_id="ask-bob",
            origin=MessageOrigin.ANIMA,
            kind=MessageKind.REPLY,
        ),
        MessageReceived(**_env("alice", 8, "m2"), text="thanks", sender="human", thread_id="dm:human"),
    ]


def _board_events() -> list[Event]:
    return [
        BoardCreated(**_env("alice", 0, "b-new"), board="ops", description="Operations"),
        BoardCreated(**_env("bob", 0, "b-dup"), board="ops"),  # refused by memory-writer: exists already
        BoardJoined(**_env("bob", 1, "b-join"), board="ops"),
        ChannelPosted(
            **_env("alice", 2, "p1"), channel="ops", text="first", thread_id="ops-1", request_id="x1"
        ),
        ChannelPosted(
            **_env("bob", 3, "p2"), channel="ops", text="second", thread_id="ops-1", request_id="x2"
        ),
        ChannelPosted(
            **_env("bob", 4, "p3"), channel="general", text="hi all", thread_id="g-1", request_id="x3"
        ),
    ]


def _consolidation_events() -> list[Event]:
    return [
        ConsolidationStarted(
            **_env("alice", 30, "cs1"),
            run_id="run-a",
            kind=ConsolidationKind.DAILY,
            date="2026-02-28",
            sources=9,
        ),
        ConsolidationPlanned(
            **_env("alice", 31, "cp1"), run_id="run-a", method=ConsolidationMethod.MODEL, model="m"
        ),
        ConsolidationFinished(
            **_env("alice", 32, "cf1"),
            run_id="run-a",
            kind=ConsolidationKind.DAILY,
            date="2026-02-28",
            status=ConsolidationStatus.OK,
            method=ConsolidationMethod.MODEL,
            model="m",
            created=2,
            skipped=1,
        ),
        ConsolidationStarted(
            **_env("bob", 40, "cs2"), run_id="run-b", kind=ConsolidationKind.WEEKLY, date=None
        ),
    ]


@pytest.fixture
async def client(
    tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]
) -> AsyncIterator[httpx.AsyncClient]:
    url, users = secured_nats
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    writer = await connect_as(url, users["memory-writer"])
    gateway = await connect_as(url, users["gateway"])
    store = BoardStore(tmp_path / "boards" / "boards.db")
    try:
        js = admin.jetstream()
        events = [
            *_conversation_events(),
            *_task_events("t1", "Write the weekly summary", 10),
            *_task_events("t2", "Check the backups", 12),
            *_report_events("t1", "Summary written", 20),
            *_board_events(),
            *_consolidation_events(),
        ]
        for event in events:
            headers = {HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type}
            await js.publish(
                activity_subject(event.anima, event.event_type), encode_event(event), headers=headers
            )
            store.apply(event)  # memory-writer's projection sees the same events

        async def directory(msg: Msg) -> None:
            animas = [AnimaSummary(name=name, enabled=True) for name in ANIMAS]
            await msg.respond(msgspec.json.encode(AnimaListReply(animas=animas)))

        await writer.subscribe(RPC_MEMORY_ANIMAS, cb=directory)
        await writer.subscribe(RPC_MEMORY_BOARD, cb=BoardServer(store).on_request)
        await writer.flush()
        ops = [
            *conversations.operations(gateway, AnimaDirectory(gateway)),
            *work.operations(gateway),
            *boards.operations(gateway),
        ]
        assert set(openapi_document(ops, title="t", version="1")["paths"]) == {op.path for op in ops}
        app = Starlette(routes=routes(ops), middleware=[Middleware(Authentication, api_config=ApiConfig)])
        guard_broker_outages(app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            yield http
    finally:
        store.close()
        for nc in (gateway, writer, admin):
            await nc.close()


async def _get(client: httpx.AsyncClient, path: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_conversations_group_an_anima_s_messages_into_threads(client: httpx.AsyncClient) -> None:
    body = await _get(client, "/api/animas/alice/conversations")
    threads = [(t["thread_id"], t["peer"], t["messages"]) for t in body["items"]]
    # most recently active first: bob's report on t1, the open t2, the person's thread, the question
    assert threads == [
        ("task-t1", "bob", 2),
        ("task-t2", "bob", 1),
        ("dm:human", "human", 3),
        ("ask-bob", "bob", 2),
    ]
    assert body["next_cursor"] is None and body["items"][0]["last_time"] == "2026-03-01T09:20:00+00:00"

    first = await _get(client, "/api/animas/alice/conversations?limit=3")
    rest = await _get(client, f"/api/animas/alice/conversations?limit=3&cursor={first['next_cursor']}")
    assert [t["thread_id"] for t in first["items"] + rest["items"]] == [t[0] for t in threads]
    assert rest["next_cursor"] is None

    thread = await _get(client, "/api/animas/alice/conversations/ask-bob")
    said = [(m["direction"], m["from"], m["to"], m["text"], m["kind"]) for m in thread["messages"]]
    assert said == [
        ("out", "alice", "bob", "what's the plan?", "message"),
        ("in", "bob", "alice", "plan X", "reply"),
    ]
    assert thread["thread_id"] == "ask-bob" and thread["next_cursor"] is None
    assert thread["messages"][0]["time"] == "2026-03-01T09:02:00+00:00"
    assert thread["messages"][0]["seq"] < thread["messages"][1]["seq"]

    person = await _get(client, "/api/animas/alice/conversations/dm:human?limit=2")
    assert [m["text"] for m in person["messages"]] == ["hello", "hi!"]
    more = await _get(client, f"/api/animas/alice/conversations/dm:human?cursor={person['next_cursor']}")
    assert [m["text"] for m in more["messages"]] == ["thanks"]

    # bob's side of the same question: in, then his answer (counted once though outbound carried it)
    bobs = await _get(client, "/api/animas/bob/conversations/ask-bob")
    assert [(m["direction"], m["text"], m["kind"]) for m in bobs["messages"]] == [
        ("in", "what's the plan?", "message"),
        ("out", "plan X", "answer"),
    ]

    await _get(client, "/api/animas/nobody/conversations", 404)
    await _get(client, "/api/animas/alice/conversations/no-such-thread", 404)
    await _get(client, "/api/animas/Bad!Name/conversations", 400)
    await _get(client, "/api/animas/alice/conversations?cursor=garbage", 400)


async def test_tasks_show_each_delegation_with_its_state_and_report(client: httpx.AsyncClient) -> None:
    body = await _get(client, "/api/tasks")
    tasks = [(t["task_id"], t["from"], t["to"], t["title"], t["state"]) for t in body["items"]]
    assert tasks == [
        ("t2", "alice", "bob", "Check the backups", "delegated"),
        ("t1", "alice", "bob", "Write the weekly summary", "done"),
    ]
    done = body["items"][1]
    assert done["report"] == {
        "outcome": "done",
        "summary": "Summary written",
        "time": "2026-03-01T09:20:00+00:00",
        "taken": True,
    }
    assert (done["time"], done["assignee_task_id"], done["thread_id"]) == (
        "2026-03-01T09:10:00+00:00",
        "t1-b",
        "task-t1",
    )
    assert body["items"][0]["report"] is None

    assert [t["task_id"] for t in (await _get(client, "/api/tasks?state=done"))["items"]] == ["t1"]
    assert len((await _get(client, "/api/tasks?anima=bob"))["items"]) == 2
    assert (await _get(client, "/api/tasks?anima=carol"))["items"] == []
    page = await _get(client, "/api/tasks?limit=1")
    assert [t["task_id"] for t in page["items"]] == ["t2"]
    after = await _get(client, f"/api/tasks?limit=1&cursor={page['next_cursor']}")
    assert [t["task_id"] for t in after["items"]] == ["t1"] and after["next_cursor"] is None
    await _get(client, "/api/tasks?state=nonsense", 400)
    await _get(client, "/api/tasks?limit=0", 400)


async def test_boards_come_from_memory_writer_s_projection(client: httpx.AsyncClient) -> None:
    body = await _get(client, "/api/boards")
    assert body["items"] == [
        {
            "board": "general",
            "description": body["items"][0]["description"],
            "posting": "anyone",
            "owner": None,
            "everyone": True,
            "members": [],
            "posts": 1,
        },
        {
            "board": "ops",
            "description": "Operations",
            "posting": "members",
            "owner": "alice",
            "everyone": False,
            "members": ["alice", "bob"],
            "posts": 2,
        },
    ]
    page = await _get(client, "/api/boards/ops/posts?limit=1")
    assert [(p["seq"], p["anima"], p["text"]) for p in page["items"]] == [(2, "bob", "second")]
    assert page["total"] == 2 and page["next_cursor"] == "2"
    older = await _get(client, f"/api/boards/ops/posts?limit=1&cursor={page['next_cursor']}")
    assert [(p["seq"], p["text"], p["time"]) for p in older["items"]] == [
        (1, "first", "2026-03-01T09:02:00+00:00")
    ]
    assert older["next_cursor"] is None
    await _get(client, "/api/boards/nope/posts", 404)


async def test_consolidation_runs_are_listed_newest_first(client: httpx.AsyncClient) -> None:
    body = await _get(client, "/api/consolidations")
    runs = [(r["run_id"], r["anima"], r["outcome"], r["finished"]) for r in body["items"]]
    assert runs == [("run-b", "bob", "running", None), ("run-a", "alice", "ok", "2026-03-01T09:32:00+00:00")]
    alice = (await _get(client, "/api/consolidations?anima=alice"))["items"]
    assert [r["run_id"] for r in alice] == ["run-a"]
    assert alice[0]["summary"] == "daily 2026-02-28: 2 created, 1 skipped (model)"
    assert alice[0]["started"] == "2026-03-01T09:30:00+00:00" and alice[0]["counts"]["created"] == 2
    await _get(client, "/api/consolidations?anima=Not.Valid", 400)


async def test_without_memory_writer_boards_answer_503_and_the_rest_still_reads(
    secured_nats: tuple[str, dict[str, NatsUser]],
) -> None:
    url, users = secured_nats
    gateway = await connect_as(url, users["gateway"])
    try:
        ops = [*work.operations(gateway), *boards.operations(gateway, timeout_s=0.5)]
        app = Starlette(routes=routes(ops), middleware=[Middleware(Authentication, api_config=ApiConfig)])
        guard_broker_outages(app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            response = await http.get("/api/boards/general/posts")
            assert response.status_code == 503 and response.headers["retry-after"]
            assert (await _get(http, "/api/tasks")) == {"items": [], "next_cursor": None}
    finally:
        await gateway.close()
