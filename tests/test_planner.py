"""The memory planner: valid plans, aliasing, in-place reuse, and the lower bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcuforge.compiler.compile import compile_graph
from mcuforge.compiler.plan import Buffer, MemoryPlan, _place_greedy
from mcuforge.model import read_model


@pytest.mark.parametrize("seed", range(30))
def test_random_lifetimes_never_collide(seed: int) -> None:
    rng = np.random.default_rng(seed)
    buffers = []
    for _ in range(rng.integers(2, 40)):
        first = int(rng.integers(0, 30))
        buffers.append(Buffer([len(buffers)], int(rng.integers(1, 5000)), first,
                              first + int(rng.integers(0, 8))))
    _place_greedy(buffers)
    arena = max(b.offset + b.size for b in buffers)
    lower = max(sum(b.size for b in buffers if b.first <= s <= b.last) for s in range(40))
    plan = MemoryPlan({}, -(-arena // 16) * 16, lower, buffers, 40)
    plan.verify()
    assert arena >= lower


def test_verify_catches_a_collision() -> None:
    a, b = Buffer([0], 100, 0, 2, offset=0), Buffer([1], 100, 1, 3, offset=64)
    with pytest.raises(AssertionError, match="overlap in memory"):
        MemoryPlan({}, 176, 200, [a, b], 4).verify()


def test_simple_add_reuses_a_dying_input(zoo: Path) -> None:
    # Both inputs are graph inputs, which must not be overwritten: no in-place here.
    plan = compile_graph(read_model(zoo / "simple_add.tflite")).plan
    assert plan.arena_bytes == plan.lower_bound == 3 * 128 * 128


def test_hello_world_ping_pongs_two_buffers(zoo: Path) -> None:
    plan = compile_graph(read_model(zoo / "hello_world_int8.tflite")).plan
    assert plan.arena_bytes == 32 and plan.lower_bound == 32
    assert len({b.offset for b in plan.buffers}) == 2


def test_debug_plan_gives_every_tensor_its_own_memory(zoo: Path) -> None:
    plan = compile_graph(read_model(zoo / "hello_world_int8.tflite"), debug=True).plan
    offsets = sorted(b.offset for b in plan.buffers)
    assert len(offsets) == len(set(offsets)) == 4
