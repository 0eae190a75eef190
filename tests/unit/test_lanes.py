"""Inside a process the urgent lane goes first: the routine consumer waits between records while urgent work is in hand."""

import asyncio

import pytest

from mash_runtime.consuming import Lanes

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def test_routine_work_waits_while_an_urgent_batch_is_in_hand_and_goes_on_after():
    lanes, order = Lanes(), []
    urgent_started, finish_urgent = asyncio.Event(), asyncio.Event()

    async def urgent_batch():
        async with lanes.urgent():
            urgent_started.set()
            await finish_urgent.wait()
            order.append("urgent")

    async def routine_record():
        await lanes.routine_turn()
        order.append("routine")

    task = asyncio.create_task(urgent_batch())
    await urgent_started.wait()
    waiting = asyncio.create_task(routine_record())
    await asyncio.sleep(0.05)
    assert not waiting.done(), "routine work went ahead of an urgent batch in hand"
    finish_urgent.set()
    await asyncio.wait_for(asyncio.gather(task, waiting), 5)
    assert order == ["urgent", "routine"]


async def test_routine_work_goes_straight_on_when_nothing_is_urgent_and_after_overlapping_urgent_batches():
    lanes = Lanes()
    await asyncio.wait_for(lanes.routine_turn(), 1)
    gates = [asyncio.Event(), asyncio.Event()]

    async def urgent(gate):
        async with lanes.urgent():
            await gate.wait()

    tasks = [asyncio.create_task(urgent(g)) for g in gates]
    await asyncio.sleep(0.01)
    gates[0].set()
    await tasks[0]
    routine = asyncio.create_task(lanes.routine_turn())
    await asyncio.sleep(0.05)
    assert not routine.done(), "one urgent batch still in hand"
    gates[1].set()
    await asyncio.wait_for(asyncio.gather(tasks[1], routine), 5)


async def test_a_failing_urgent_batch_does_not_leave_the_routine_lane_shut():
    lanes = Lanes()
    with pytest.raises(RuntimeError):
        async with lanes.urgent():
            raise RuntimeError("handler failed")
    await asyncio.wait_for(lanes.routine_turn(), 1)
