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


# ---- an independent check ------------------------------------------------------------------
# Written from the graph and the kernels' declarations alone, byte by byte: no plan.py helper
# (Buffer, overlaps_in_time, verify) is used, so a bug there cannot hide itself here.
def _occupancy_violations(graph, calls, plan) -> list[str]:  # type: ignore[no-untyped-def]
    steps = len(calls)
    birth: dict[int, int] = {t: 0 for t in graph.inputs}
    death: dict[int, int] = {t: 0 for t in graph.inputs}
    for s, call in enumerate(calls):
        for t in call.op.outputs:
            birth.setdefault(t, s)
            death.setdefault(t, s)
        for t in call.op.inputs:
            if t in death:
                death[t] = max(death[t], s)
    for t in graph.outputs:
        death[t] = steps - 1
    unit = {t: t for t in plan.offsets}

    def root(t: int) -> int:
        while unit[t] != t:
            t = unit[t]
        return t

    for call in calls:
        if call.alias is not None and all(t in unit for t in call.alias):
            unit[root(call.alias[0])] = root(call.alias[1])
    allowed: set[tuple[int, int, int]] = set()  # (step, unit, unit) that may share bytes
    for s, call in enumerate(calls):
        pairs = [(o, i, 0) for o, i in call.inplace] + list(call.overlap)
        for out, src, lag in pairs:
            if out in plan.offsets and src in plan.offsets and \
                    plan.offsets[out] >= plan.offsets[src] - lag:
                allowed |= {(s, root(out), root(src)), (s, root(src), root(out))}
    problems = []
    for s in range(steps):
        owner = np.full(plan.arena_bytes, -1, dtype=np.int64)
        claims = [(t, plan.offsets[t], graph.tensors[t].nbytes, root(t)) for t in plan.offsets
                  if birth.get(t, 0) <= s <= death.get(t, -1)]
        if s in plan.scratch:
            claims.append((-1, plan.scratch[s], calls[s].scratch_bytes, -1 - s))
        for t, off, size, u in claims:
            if off < 0 or off + size > plan.arena_bytes:
                problems.append(f"step {s}: t{t} [{off}, {off + size}) outside the arena")
                continue
            region = owner[off : off + size]
            for other in set(region[region >= 0].tolist()) - {u}:
                if (s, u, other) not in allowed:
                    problems.append(f"step {s}: t{t} shares bytes with live unit {other}")
            region[region < 0] = u
    return problems


def _random_graph(seed: int):  # type: ignore[no-untyped-def]
    from mcuforge.compiler.ops.base import KernelCall
    from mcuforge.model.ir import Graph, Operator, Tensor

    rng = np.random.default_rng(seed)
    tensors = [Tensor(0, "t0", (int(rng.integers(1, 300)),), "int8")]
    ops, calls = [], []
    for i in range(int(rng.integers(3, 25))):
        srcs = sorted({int(rng.integers(0, len(tensors))) for _ in range(int(rng.integers(1, 3)))})
        kind = rng.integers(0, 4)
        size = tensors[srcs[0]].size if kind in (1, 2) else int(rng.integers(1, 300))
        out = len(tensors)
        tensors.append(Tensor(out, f"t{out}", (size,), "int8"))
        op = Operator(i, "X", tuple(srcs), (out,))
        ops.append(op)
        call = KernelCall(op, kernel="k")
        if kind == 1:
            call.inplace = [(out, srcs[0])]
        elif kind == 2:
            call.alias = (out, srcs[0])
            call.kernel = ""
        elif kind == 3 and rng.random() < 0.5:
            call.overlap = [(out, srcs[0], int(rng.integers(0, 64)))]
        if rng.random() < 0.2:
            call.scratch_bytes = int(rng.integers(1, 200))
        calls.append(call)
    graph = Graph("random", tensors, ops, [0], [len(tensors) - 1])
    return graph, calls


@pytest.mark.parametrize("seed", range(60))
def test_random_plans_pass_an_independent_occupancy_check(seed: int) -> None:
    from mcuforge.compiler.plan import plan_memory

    graph, calls = _random_graph(seed)
    for reuse in (True, False):
        plan = plan_memory(graph, calls, reuse=reuse)
        assert _occupancy_violations(graph, calls, plan) == []


@pytest.mark.parametrize("families", [("ref",), ("dsp", "ref"), ("mve", "ref")])
def test_zoo_plans_pass_an_independent_occupancy_check(zoo: Path, families) -> None:  # type: ignore[no-untyped-def]
    for name in ("hello_world_int8", "simple_add", "micro_speech_quantized", "mlperf_ad01_int8",
                 "mlperf_ic_resnet_int8", "mlperf_kws_ref_model", "person_detect"):
        compiled = compile_graph(read_model(zoo / f"{name}.tflite"), kernel_families=families)
        problems = _occupancy_violations(compiled.graph, compiled.calls, compiled.plan)
        assert problems == [], f"{name}: {problems[:5]}"


def test_the_occupancy_check_sees_a_collision() -> None:
    from mcuforge.compiler.plan import plan_memory

    graph, calls = _random_graph(3)
    plan = plan_memory(graph, calls)
    live = [t for t in plan.offsets if t != 0]
    plan.offsets[live[0]] = plan.offsets[0]  # t0 is a graph input alive at step 0
    assert _occupancy_violations(graph, calls, plan)
