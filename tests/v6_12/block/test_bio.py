"""submit_bio_wait and the on-stack completion (block/bio.c, kernel/sched/completion.c)."""

from __future__ import annotations

import pytest

from kmodel import BadRange, BlkStatus, Deadlock, DeterministicExecutor, Folio, TaskState
from kmodel.block.bio import bio_add_page
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, REQ_SYNC
from kmodel.sim import make_disk
from kmodel.v6_12.block.bio import Completion, bio_init, complete, submit_bio_wait
from tests.v6_12.helpers import machine

branch = pytest.mark.branch


@branch("BW-1", "BW-3")
def test_a_bio_ended_in_submit_bio_returns_without_sleeping_BW_1() -> None:
    m, addr, rec = machine(0, disk="brd")
    bdev = m.bdev
    bdev.storage[8] = b"eight"
    bio = bio_init(bdev, REQ_OP_READ)
    bio.bi_sector = 8
    folio = Folio()
    bio_add_page(bio, folio, 4096, 0)
    t = m.spawn()
    with m.k.running(t), m.k.lock:
        assert submit_bio_wait(m.k, bio) == 0
    assert bio.bi_opf & REQ_SYNC
    assert folio.data == b"eight"
    assert t.wakeups == 0 and t.state == TaskState.TASK_RUNNING
    assert not m.k.executor.live_bios and bio.bi_cnt == 1  # on the stack: never put


@branch("BW-2", "BW-3")
def test_a_queued_bio_sleeps_until_complete_and_returns_its_errno_BW_2() -> None:
    ex = DeterministicExecutor()
    m, addr, rec = machine(0, executor=ex, disk="ssd")
    m.bdev.completion_errors.append(BadRange(16, 24, REQ_OP_WRITE, BlkStatus.BLK_STS_MEDIUM))
    bio = bio_init(m.bdev, REQ_OP_WRITE)
    bio.bi_sector = 16
    bio_add_page(bio, Folio(data=b"x"), 4096, 0)
    t = m.spawn()
    seen: list[TaskState] = []

    def chooser(pending: list) -> tuple:  # type: ignore[type-arg]
        seen.append(t.state)  # the state the task sleeps in
        return pending[0], None

    ex.chooser = chooser
    with m.k.running(t), m.k.lock:
        assert submit_bio_wait(m.k, bio) == -61  # -ENODATA for BLK_STS_MEDIUM
    assert seen == [TaskState.TASK_UNINTERRUPTIBLE]
    assert t.wakeups == 1 and t.state == TaskState.TASK_RUNNING
    assert rec.rets("submit_bio_wait") == [-61]


def test_waiting_with_nothing_in_flight_is_a_deadlock() -> None:
    m, addr, rec = machine(0, disk="ssd")
    bio = bio_init(make_disk("ssd"), REQ_OP_READ)
    bio_add_page(bio, Folio(), 4096, 0)
    m.k.executor.submit = lambda k, io: None  # type: ignore[method-assign]  # a lost request
    with m.k.running(m.spawn()), m.k.lock, pytest.raises(Deadlock):
        submit_bio_wait(m.k, bio)


def test_complete_without_a_waiter_counts_for_a_later_wait() -> None:
    m, addr, rec = machine(0)
    x = Completion()
    complete(m.k, x)
    assert x.done == 1 and x.waiter is None
