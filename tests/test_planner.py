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
    # The output may overwrite one of the inputs (both die at this step), not both.
    plan = compile_graph(read_model(zoo / "simple_add.tflite")).plan
    assert plan.lower_bound == 3 * 128 * 128 and plan.arena_bytes == 2 * 128 * 128


def test_hello_world_ping_pongs_two_buffers(zoo: Path) -> None:
    plan = compile_graph(read_model(zoo / "hello_world_int8.tflite")).plan
    assert plan.arena_bytes == 32 and plan.lower_bound == 32
    assert len({b.offset for b in plan.buffers}) == 2


def test_debug_plan_gives_every_tensor_its_own_memory(zoo: Path) -> None:
    plan = compile_graph(read_model(zoo / "hello_world_int8.tflite"), debug=True).plan
    offsets = sorted(b.offset for b in plan.buffers)
    assert len(offsets) == len(set(offsets)) == 4


def test_streaming_lag_of_a_same_padded_3x3() -> None:
    from mcuforge.compiler.plan import streaming_lag

    # 3x3, stride 1, one row of padding: writing output row oy still needs input row oy - 1.
    assert streaming_lag((1, 10, 4, 2), (1, 10, 4, 2), stride=1, pad_top=1) == 2 * 4 * 2
    # Stride 2 halves the rows: output row oy needs input rows from 2 * oy on.
    assert streaming_lag((1, 8, 4, 1), (1, 4, 2, 1), stride=2, pad_top=0) == 2
    assert streaming_lag((2, 8, 4, 1), (2, 4, 2, 1), stride=2, pad_top=0) is None


def test_overlap_pairs_share_memory_with_the_lag() -> None:
    from mcuforge.compiler.ops.base import KernelCall
    from mcuforge.compiler.plan import plan_memory
    from mcuforge.model.ir import Graph, Operator, Tensor

    # A residual block: t0 -> A -> t1 -> B -> t2; C = t0 + t2 -> t3. t0 stays alive throughout.
    tensors = [Tensor(i, f"t{i}", (1, 8, 8, 4), "int8") for i in range(4)]
    ops = [Operator(0, "A", (0,), (1,)), Operator(1, "B", (1,), (2,)),
           Operator(2, "C", (0, 2), (3,))]
    graph = Graph("g", tensors, ops, [0], [3])
    calls = [KernelCall(ops[0], kernel="k"),
             KernelCall(ops[1], kernel="k", overlap=[(2, 1, 64)]),
             KernelCall(ops[2], kernel="k", inplace=[(3, 0)])]
    plan = plan_memory(graph, calls)
    assert plan.offsets[1] - plan.offsets[2] == 64
    assert plan.lower_bound == 3 * 256 and plan.arena_bytes == 256 + 256 + 64


def test_an_overlap_that_would_not_help_is_not_taken() -> None:
    from mcuforge.compiler.ops.base import KernelCall
    from mcuforge.compiler.plan import plan_memory
    from mcuforge.model.ir import Graph, Operator, Tensor

    tensors = [Tensor(i, f"t{i}", (1, 8, 8, 4), "int8") for i in range(3)]
    ops = [Operator(0, "A", (0,), (1,)), Operator(1, "B", (1,), (2,))]
    graph = Graph("g", tensors, ops, [0], [2])
    calls = [KernelCall(ops[0], kernel="k"), KernelCall(ops[1], kernel="k", overlap=[(2, 1, 64)])]
    plan = plan_memory(graph, calls)
    assert plan.arena_bytes == 512  # t2 simply reuses t0's memory
