"""The static memory plan: every activation tensor's arena offset, decided at compile time.

Lifetimes come from the schedule (step = kernel call index). Tensors that may share memory are
merged into one buffer first: RESHAPE outputs alias their input; an element-wise kernel may write
its output over an input that dies at that step (in place). Buffers are then placed greedily,
largest first, each at the lowest offset that does not overlap a buffer alive at the same time --
the same strategy as TFLM's GreedyMemoryPlanner, plus the aliasing TFLM does not do.

The lower bound reported next to the plan is the largest sum of live tensor bytes at any step: no
placement can beat it without recomputation or splitting tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcuforge.compiler.ops.base import KernelCall
from mcuforge.model.ir import Graph

ALIGN = 16


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass
class Buffer:
    """A region of the arena holding one tensor or an alias group, alive over [first, last]."""

    tensors: list[int]
    size: int
    first: int
    last: int
    offset: int = -1
    scratch_of: int | None = None

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    @property
    def label(self) -> str:
        if self.scratch_of is not None:
            return f"scratch(step {self.scratch_of})"
        return "+".join(f"t{t}" for t in self.tensors)


@dataclass
class MemoryPlan:
    offsets: dict[int, int]
    arena_bytes: int
    lower_bound: int
    buffers: list[Buffer]
    steps: int
    scratch: dict[int, int] = field(default_factory=dict)
    #: Tensors that are constant data in flash although they are op outputs (RESHAPE of weights).
    const_aliases: dict[int, int] = field(default_factory=dict)

    def verify(self) -> None:
        """Assert no two buffers alive at the same step share bytes. A planner bug would corrupt
        tensors silently on the device, so every plan is checked before code is emitted."""
        for i, a in enumerate(self.buffers):
            assert a.offset >= 0 and a.offset % ALIGN == 0, f"{a.label}: bad offset {a.offset}"
            assert a.offset + a.size <= self.arena_bytes, f"{a.label} ends past the arena"
            for b in self.buffers[i + 1 :]:
                if a.overlaps_in_time(b):
                    assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (
                        f"{a.label} and {b.label} overlap in memory while both are alive")

    def to_dict(self) -> dict:
        return {
            "arena_bytes": self.arena_bytes,
            "lower_bound_bytes": self.lower_bound,
            "buffers": [
                {
                    "tensors": b.tensors,
                    "label": b.label,
                    "offset": b.offset,
                    "bytes": b.size,
                    "first_step": b.first,
                    "last_step": b.last,
                }
                for b in sorted(self.buffers, key=lambda b: b.offset)
            ],
        }


class _Groups:
    """Union-find over tensor indices, for alias groups."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _lifetimes(graph: Graph, calls: list[KernelCall]) -> dict[int, tuple[int, int]]:
    last_step = max(len(calls) - 1, 0)
    life: dict[int, list[int]] = {}
    for t in graph.inputs:
        life[t] = [0, 0]
    for step, call in enumerate(calls):
        for t in call.op.outputs:
            if t >= 0 and not graph.tensors[t].is_const:
                life.setdefault(t, [step, step])
        for t in call.op.inputs:
            if t >= 0 and t in life:
                life[t][1] = max(life[t][1], step)
    for t in graph.outputs:
        if t in life:
            life[t][1] = last_step
    return {t: (a, b) for t, (a, b) in life.items()}


def plan_memory(graph: Graph, calls: list[KernelCall], *, reuse: bool = True) -> MemoryPlan:
    """Assign arena offsets. With ``reuse=False`` every tensor gets its own memory (debug builds
    that read every intermediate tensor after the run)."""
    life = _lifetimes(graph, calls)
    const_aliases: dict[int, int] = {}
    groups = _Groups()
    for call in calls:
        if call.alias is None:
            continue
        out, src = call.alias
        if graph.tensors[src].is_const or src in const_aliases:
            const_aliases[out] = const_aliases.get(src, src)
            life.pop(out, None)
        else:
            groups.union(out, src)
    if reuse:
        _merge_in_place(graph, calls, life, groups)

    members: dict[int, list[int]] = {}
    for t in life:
        members.setdefault(groups.find(t), []).append(t)
    buffers = [
        Buffer(
            tensors=sorted(ts),
            size=max(graph.tensors[t].nbytes for t in ts),
            first=min(life[t][0] for t in ts),
            last=max(life[t][1] for t in ts),
        )
        for ts in members.values()
    ]
    for step, call in enumerate(calls):
        if call.scratch_bytes:
            buffers.append(Buffer([], call.scratch_bytes, step, step, scratch_of=step))

    if reuse:
        _place_greedy(buffers)
    else:
        offset = 0
        for b in buffers:
            b.offset = offset
            offset += _align(b.size)

    arena = max((b.offset + b.size for b in buffers), default=0)
    lower = 0
    for step in range(max(len(calls), 1)):
        lower = max(lower, sum(b.size for b in buffers if b.first <= step <= b.last))
    offsets = {t: b.offset for b in buffers for t in b.tensors}
    scratch = {b.scratch_of: b.offset for b in buffers if b.scratch_of is not None}
    plan = MemoryPlan(
        offsets=offsets,
        arena_bytes=_align(arena),
        lower_bound=lower,
        buffers=buffers,
        steps=len(calls),
        scratch=scratch,
        const_aliases=const_aliases,
    )
    plan.verify()
    return plan


def _merge_in_place(
    graph: Graph, calls: list[KernelCall], life: dict[int, tuple[int, int]], groups: _Groups
) -> None:
    """Let an element-wise output take over an input that is dead after this step."""
    for step, call in enumerate(calls):
        for out, src in call.inplace:
            if out not in life or src not in life or src in graph.inputs:
                continue
            if graph.tensors[out].nbytes != graph.tensors[src].nbytes:
                continue
            group_src = [t for t in life if groups.find(t) == groups.find(src)]
            if max(life[t][1] for t in group_src) != step:
                continue
            if src in graph.outputs:
                continue
            groups.union(out, src)
            break


#: Placement orders tried; the smallest arena wins. Size first is TFLM's order; the others win on
#: graphs where long-lived small tensors fragment the arena.
_ORDERS = {
    "size": lambda b: (-b.size, b.first, b.label),
    "size*lifetime": lambda b: (-b.size * (b.last - b.first + 1), -b.size, b.first, b.label),
    "lifetime": lambda b: (-(b.last - b.first), -b.size, b.first, b.label),
    "first use": lambda b: (b.first, -b.size, b.label),
}


def _place_in_order(buffers: list[Buffer]) -> int:
    """First fit in the given order; returns the arena end."""
    placed: list[Buffer] = []
    for buf in buffers:
        conflicts = sorted((p for p in placed if p.overlaps_in_time(buf)), key=lambda p: p.offset)
        offset = 0
        for p in conflicts:
            if offset + buf.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        buf.offset = offset
        placed.append(buf)
    return max((b.offset + b.size for b in buffers), default=0)


def _place_greedy(buffers: list[Buffer]) -> None:
    best: tuple[int, dict[int, int]] | None = None
    for key in _ORDERS.values():
        end = _place_in_order(sorted(buffers, key=key))
        if best is None or end < best[0]:
            best = (end, {id(b): b.offset for b in buffers})
    assert best is not None
    for b in buffers:
        b.offset = best[1][id(b)]
