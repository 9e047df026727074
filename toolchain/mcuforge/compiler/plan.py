"""The static memory plan: every activation tensor's arena offset, decided at compile time.

Lifetimes come from the schedule (step = kernel call index). Tensors that may share memory are
merged into one buffer first: RESHAPE outputs alias their input, contiguous slices are views into
theirs (at a byte offset); an element-wise kernel may write its output over an input that dies at
that step (in place). Buffers are then placed greedily,
largest first, each at the lowest offset that does not overlap a buffer alive at the same time --
the same strategy as TFLM's GreedyMemoryPlanner, plus the aliasing TFLM does not do.

The lower bound reported next to the plan is the largest sum of live tensor bytes at any step: no
placement can beat it without recomputation or splitting tensors.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from mcuforge.compiler.ops.base import KernelCall
from mcuforge.compiler.state import StatePlan, plan_state
from mcuforge.model.ir import Graph

ALIGN = 16

#: What "lower bound" means wherever it is printed next to an arena size.
LOWER_BOUND_NOTE = ("lower bound: the most bytes of whole tensors alive at one step; an arena "
                    "below it means kernels stream rows into memory their input frees")


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
    #: Each tensor's offset inside the buffer (non-zero for overlapping pairs).
    rel: dict[int, int] = field(default_factory=dict)

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
    #: The persistent state region (variables, kernel state), outside the arena.
    state: StatePlan = field(default_factory=StatePlan)
    #: Byte offset of such a tensor inside its constant (a slice view of weights).
    const_offsets: dict[int, int] = field(default_factory=dict)
    #: Steps whose outputs are views of their input instead of the kernel's copies.
    viewed: frozenset[int] = frozenset()

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
            "state": self.state.to_dict(),
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
    """Union-find over tensors with an offset relative to the group's root: alias groups
    (offset 0), in-place pairs (offset 0) and overlapping pairs (the output placed ``lag`` bytes
    before its input)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.rel: dict[int, int] = {}  # offset of t relative to parent[t]

    def find(self, t: int) -> tuple[int, int]:
        """(root, offset of t relative to the root)."""
        self.parent.setdefault(t, t)
        self.rel.setdefault(t, 0)
        if self.parent[t] == t:
            return t, 0
        root, off = self.find(self.parent[t])
        self.rel[t] += off
        self.parent[t] = root
        return root, self.rel[t]

    def union(self, a: int, b: int, offset: int = 0) -> None:
        """Place a at ``offset`` bytes relative to b."""
        ra, oa = self.find(a)
        rb, ob = self.find(b)
        if ra == rb:
            return
        self.parent[ra] = rb
        self.rel[ra] = ob + offset - oa


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
    that read every intermediate tensor after the run).

    A call with both a ``kernel`` and ``views`` (a contiguous slice or split) may run its copy
    kernel or become a view of its input. A view saves the copy and the output's memory but
    keeps the whole input alive as long as the output: all views are tried, then each is given
    up if that makes the arena smaller. ``plan.viewed`` holds the steps that became views
    (:func:`with_views` turns them into code-less calls).
    """
    # State comes first: a tensor placed in a variable's memory (an aliased read, a value
    # written straight into it) is never a view, and never viewed.
    state = plan_state(graph, calls, _lifetimes(graph, calls))
    optional = frozenset(
        i for i, c in enumerate(calls) if c.views and c.kernel
        and not any(t in state.tensor_offsets for view in c.views for t in view[:2]))
    if not reuse or not optional:
        return _plan(graph, calls, state, reuse=reuse, viewed=frozenset())
    best = _plan(graph, calls, state, reuse=True, viewed=optional)
    for step in sorted(optional):
        trial = _plan(graph, calls, state, reuse=True, viewed=best.viewed - {step})
        if trial.arena_bytes < best.arena_bytes:
            best = trial
    return best


def with_views(calls: list[KernelCall], plan: MemoryPlan) -> list[KernelCall]:
    """The calls as the plan runs them: those it made views emit no code."""
    return [dataclasses.replace(c, kernel="", source="", params={}, args=[], consts=[])
            if i in plan.viewed else c for i, c in enumerate(calls)]


def _plan(graph: Graph, calls: list[KernelCall], state: StatePlan, *, reuse: bool,
          viewed: frozenset[int]) -> MemoryPlan:
    life = _lifetimes(graph, calls)
    for t in state.tensor_offsets:
        life.pop(t, None)
    const_aliases: dict[int, int] = {}
    const_offsets: dict[int, int] = {}
    groups = _Groups()
    for step, call in enumerate(calls):
        shared = [(*call.alias, 0)] if call.alias is not None else []
        views = call.views if not call.kernel or step in viewed else []
        for out, src, offset in shared + views:
            if graph.tensors[src].is_const or src in const_aliases:
                const_aliases[out] = const_aliases.get(src, src)
                if offset or src in const_offsets:
                    const_offsets[out] = const_offsets.get(src, 0) + offset
                life.pop(out, None)
            else:
                groups.union(out, src, offset)

    # The lower bound counts each tensor once, aliases (same bytes) once per group.
    alias_members: dict[int, list[int]] = {}
    for t in life:
        alias_members.setdefault(groups.find(t)[0], []).append(t)
    lower = 0
    for step in range(max(len(calls), 1)):
        live = 0
        for ts in alias_members.values():
            if any(life[t][0] <= step <= life[t][1] for t in ts):
                live += max(graph.tensors[t].nbytes for t in ts)
        lower = max(lower, live)

    if reuse:
        groups = _merge_in_place(graph, calls, life, groups)
    buffers = _buffers(graph, calls, life, groups)
    if reuse:
        _place_greedy(buffers)
    else:
        offset = 0
        for b in buffers:
            b.offset = offset
            offset += _align(b.size)

    arena = max((b.offset + b.size for b in buffers), default=0)
    offsets = {t: b.offset + b.rel.get(t, 0) for b in buffers for t in b.tensors}
    scratch = {b.scratch_of: b.offset for b in buffers if b.scratch_of is not None}
    plan = MemoryPlan(
        offsets=offsets,
        arena_bytes=_align(arena),
        lower_bound=lower,
        buffers=buffers,
        steps=len(calls),
        scratch=scratch,
        const_aliases=const_aliases,
        state=state,
        const_offsets=const_offsets,
        viewed=viewed,
    )
    plan.verify()
    return plan


def _buffers(
    graph: Graph, calls: list[KernelCall], life: dict[int, tuple[int, int]], groups: _Groups
) -> list[Buffer]:
    members: dict[int, dict[int, int]] = {}
    for t in life:
        root, rel = groups.find(t)
        members.setdefault(root, {})[t] = rel
    buffers = []
    for ts in members.values():
        base = min(ts.values())
        buffers.append(Buffer(
            tensors=sorted(ts),
            size=max(rel - base + graph.tensors[t].nbytes for t, rel in ts.items()),
            first=min(life[t][0] for t in ts),
            last=max(life[t][1] for t in ts),
            rel={t: rel - base for t, rel in ts.items()},
        ))
    for step, call in enumerate(calls):
        if call.scratch_bytes:
            buffers.append(Buffer([], call.scratch_bytes, step, step, scratch_of=step))
    return buffers


def _arena_of(graph: Graph, calls: list[KernelCall], life: dict[int, tuple[int, int]],
              groups: _Groups) -> int:
    buffers = _buffers(graph, calls, life, groups)
    _place_greedy(buffers)
    return max((b.offset + b.size for b in buffers), default=0)


def _can_merge(graph: Graph, life: dict[int, tuple[int, int]], groups: _Groups, step: int,
               call: KernelCall, out: int, src: int, lag: int) -> bool:
    """The source's group must end at this step and the output's group begin here: then the
    two groups never hold live data in the same bytes except through this kernel's own
    (declared safe) access pattern."""
    if out not in life or src not in life or src in graph.outputs:
        return False
    if lag == 0 and graph.tensors[out].nbytes != graph.tensors[src].nbytes:
        return False
    (src_root, src_rel), out_root = groups.find(src), groups.find(out)[0]
    if src_root == out_root:
        return False
    for t in call.op.inputs:
        # Another input that shares the source's memory elsewhere (an overlapping slice view)
        # could be overwritten before the kernel reads it.
        if t >= 0 and t != src and t in life and groups.find(t)[0] == src_root and (
                groups.find(t)[1] != src_rel
                or graph.tensors[t].nbytes != graph.tensors[src].nbytes):
            return False
    src_group = [t for t in life if groups.find(t)[0] == src_root]
    out_group = [t for t in life if groups.find(t)[0] == out_root]
    if max(life[t][1] for t in src_group) != step or any(t in graph.outputs for t in src_group):
        return False
    return all(life[t][0] >= step and t not in call.op.inputs for t in out_group)


Merge = tuple[int, int, int, int]  # (step, output, input, lag)
#: More merge candidates than this skip the one-by-one searches (see _merge_in_place).
MAX_MERGE_SEARCH = 64


def _apply(graph: Graph, calls: list[KernelCall], life: dict[int, tuple[int, int]],
           base: _Groups, merges: list[Merge]) -> tuple[_Groups, list[Merge]]:
    """The groups after applying ``merges`` in order, skipping those no longer valid."""
    groups = copy.deepcopy(base)
    applied = []
    for step, out, src, lag in merges:
        if _can_merge(graph, life, groups, step, calls[step], out, src, lag):
            groups.union(out, src, -lag)
            applied.append((step, out, src, lag))
    return groups, applied


def _merge_in_place(
    graph: Graph, calls: list[KernelCall], life: dict[int, tuple[int, int]], base: _Groups
) -> _Groups:
    """Let outputs take over the memory of inputs that die at their step: exactly (element-wise
    kernels, ``inplace``) or starting ``lag`` bytes earlier (row-streaming kernels, ``overlap``).

    A merged pair occupies its memory for both lifetimes, which can cost more elsewhere than it
    saves here; and a chain of merges can pay where each alone does not (a run of convolutions
    shrinks only when every layer overlaps its input). Two searches run -- adding merges one by
    one while the arena shrinks, and taking all of them then dropping those that do not pay --
    and the smaller arena wins.
    """
    candidates: list[Merge] = []
    for step, call in enumerate(calls):
        candidates += [(step, out, src, 0) for out, src in call.inplace]
        candidates += [(step, out, src, lag) for out, src, lag in call.overlap]
    if not candidates:
        return base

    def arena(merges: list[Merge]) -> tuple[int, _Groups, list[Merge]]:
        groups, applied = _apply(graph, calls, life, base, merges)
        return _arena_of(graph, calls, life, groups), groups, applied

    if len(candidates) > MAX_MERGE_SEARCH:
        # Each trial places every buffer again: on graphs with hundreds of element-wise steps
        # (an unrolled recurrent layer) the searches would take minutes. Take all merges or
        # none, whichever is smaller.
        every = arena(candidates)
        return every[1] if every[0] <= arena([])[0] else base

    # Search 1: grow.
    grown: list[Merge] = []
    best_grown = arena(grown)[0]
    for _ in range(4):
        changed = False
        for cand in candidates:
            if cand in grown:
                continue
            size, _, applied = arena(grown + [cand])
            if cand in applied and (size < best_grown or (size == best_grown and cand[3] == 0)):
                grown, best_grown, changed = grown + [cand], size, True
        if not changed:
            break
    # Search 2: shrink from everything.
    best_shrunk, _, shrunk = arena(candidates)
    for cand in reversed(list(shrunk)):
        trial = [m for m in shrunk if m != cand]
        size = arena(trial)[0]
        if size <= best_shrunk:
            shrunk, best_shrunk = trial, size
    chosen = grown if best_grown <= best_shrunk else shrunk
    return arena(chosen)[1]


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


def streaming_lag(
    in_shape: tuple[int, ...], out_shape: tuple[int, ...], *, stride: int, pad_top: int,
    itemsize: int = 1,
) -> int | None:
    """The smallest ``lag`` for a kernel that computes NHWC output rows in order and, while
    writing output row ``oy``, reads no input row above ``oy * stride - pad_top``.

    With the output starting ``lag`` bytes before the input, every output byte lands on input
    bytes the kernel has finished reading. Returns None for batches > 1 (each batch restarts at
    the top of its input).
    """
    if len(in_shape) != 4 or len(out_shape) != 4 or in_shape[0] != 1 or out_shape[0] != 1:
        return None
    in_row = in_shape[2] * in_shape[3] * itemsize
    out_row = out_shape[2] * out_shape[3] * itemsize
    lag = 0
    for oy in range(out_shape[1]):
        needed_row = max(0, oy * stride - pad_top)
        lag = max(lag, (oy + 1) * out_row - needed_row * in_row)
    return lag
