"""``anima tasks``: the tree across task stores, from the rows memory-writer returns."""

from __future__ import annotations

from animas_contracts import TaskRecord, TaskRelation, TaskState
from animas_tools.tasks_cli import gather_stores, task_tree


def _task(
    task_id: str, relation: TaskRelation, state: TaskState, counterpart: str | None = None, **extra: str
) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        title=f"Title {task_id}",
        detail="",
        relation=relation,
        state=state,
        counterpart=counterpart,
        created_at="2026-02-12T09:00:00+00:00",
        updated_at="2026-02-12T09:00:00+00:00",
        **extra,
    )


D, A = TaskRelation.DELEGATED_BY_ME, TaskRelation.ASSIGNED_TO_ME
STORES = {
    "mgr": [
        _task("t-m1", D, TaskState.DONE, "alice", linked_task="t-a1", note="Area A is green"),
        _task("t-m2", D, TaskState.BLOCKED, "bob", linked_task="t-b1", deadline="2026-02-13T17:00+00:00"),
        _task("t-inbox", TaskRelation.DEFERRED_MESSAGE, TaskState.PENDING, "alice"),
    ],
    "alice": [_task("t-a1", A, TaskState.DONE, "mgr", linked_task="t-m1", note="Area A is green")],
    "bob": [
        _task("t-b1", A, TaskState.BLOCKED, "mgr", linked_task="t-m2", note="No credentials"),
        _task("t-b2", D, TaskState.DELEGATED, "carol", linked_task="t-c1", parent="t-b1"),
    ],
    "carol": [],
}


def test_the_tree_follows_delegations_into_the_assignees_stores() -> None:
    assert task_tree("mgr", STORES) == [
        "Tasks of mgr:",
        "  - mgr t-m1 [done] Title t-m1 -> alice: Area A is green",
        "    - alice t-a1 [done] Title t-a1 (from mgr): Area A is green",
        "  - mgr t-m2 [blocked] Title t-m2 -> bob (due 2026-02-13T17:00+00:00)",
        "    - bob t-b1 [blocked] Title t-b1 (from mgr): No credentials",
        "      - bob t-b2 [delegated] Title t-b2 -> carol",
        "        - carol has not taken it on yet",
    ]


def test_open_only_leaves_finished_work_out() -> None:
    lines = task_tree("mgr", STORES, include_closed=False)
    assert not any("t-m1" in line for line in lines) and any("t-m2" in line for line in lines)


async def test_the_stores_of_every_anima_reached_are_read_once() -> None:
    asked: list[str] = []

    async def tasks_of(anima: str) -> list[TaskRecord]:
        asked.append(anima)
        return STORES[anima]

    assert await gather_stores("mgr", tasks_of) == STORES
    assert sorted(asked) == ["alice", "bob", "carol", "mgr"]
