"""The state region: memory a model keeps between invocations, laid out at compile time.

Streaming models keep resource variables (their input history); some kernels keep state of their
own (the audio front end's noise estimate). All of it lives in one region per model, outside the
reusable arena, with its initial bytes in flash; ``<model>_reset()`` restores them.

READ_VARIABLE and ASSIGN_VARIABLE are byte copies in TFLM. Here a read becomes an alias of the
variable's memory, and an assigned value is written by its producer straight into it, wherever
that provably gives the same bytes as the copies would:

* the variable's bytes change at a write's *effective step*: the ASSIGN's own step for a copy,
  the value's producer step for a write-through;
* an aliased read's bytes are needed from the READ's step to the last use of its output (and of
  RESHAPE aliases of it); a copied read needs them at its own step only;
* a write conflicts with a read when the read's interval meets the write's interval [effective
  step, ASSIGN step]: the read would see the new value too early, or the old one overwritten
  while still in use; two writes to one variable conflict when their intervals meet.

Conflicts are resolved by giving up write-throughs first, then read aliases, until none is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcuforge.compiler.ops.base import KernelCall
from mcuforge.model.ir import Graph

ALIGN = 16


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class StateRegion:
    label: str
    offset: int
    size: int


@dataclass
class StatePlan:
    """Offsets in the state region: variables, kernel state arrays, and the tensors that live
    in a variable's memory (its handles, aliased reads, written-through values)."""

    regions: list[StateRegion] = field(default_factory=list)
    tensor_offsets: dict[int, int] = field(default_factory=dict)
    #: (step, index of the call's state array) -> offset
    kernel_state: dict[tuple[int, int], int] = field(default_factory=dict)
    #: Steps whose copy is replaced by an alias: they emit no code.
    elided: dict[int, str] = field(default_factory=dict)
    initial: bytes = b""

    @property
    def bytes(self) -> int:
        return len(self.initial)

    def to_dict(self) -> dict:
        return {
            "state_bytes": self.bytes,
            "regions": [{"label": r.label, "offset": r.offset, "bytes": r.size}
                        for r in self.regions],
            "elided_steps": sorted(self.elided),
        }


@dataclass
class _Access:
    step: int
    tensor: int
    var: int
    lo: int  # first step the access touches the variable's memory
    hi: int  # last step
    aliased: bool


def _alias_groups(calls: list[KernelCall]) -> dict[int, set[int]]:
    """Tensor -> every tensor sharing its bytes through RESHAPE-like aliases."""
    parent: dict[int, int] = {}

    def find(t: int) -> int:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for call in calls:
        if call.alias is not None:
            a, b = (find(t) for t in call.alias)
            if a != b:
                parent[a] = b
    groups: dict[int, set[int]] = {}
    for t in list(parent):
        groups.setdefault(find(t), set()).add(t)
    for root, members in list(groups.items()):
        members.add(root)
        for t in members:
            groups[t] = members
    return groups


def plan_state(graph: Graph, calls: list[KernelCall],
               life: dict[int, tuple[int, int]]) -> StatePlan:
    """Lay out the state region and decide which variable copies become aliases."""
    plan = StatePlan()
    init = bytearray()
    var_offset: dict[int, int] = {}
    for var in graph.variables:
        var_offset[var.index] = len(init)
        plan.regions.append(StateRegion(f"var {var.name}", len(init), var.nbytes))
        init += var.initial.tobytes() + bytes(_align(var.nbytes) - var.nbytes)
        for handle in var.handles:
            plan.tensor_offsets[handle] = var_offset[var.index]
    for step, call in enumerate(calls):
        for i, arr in enumerate(call.state):
            plan.kernel_state[(step, i)] = len(init)
            plan.regions.append(StateRegion(f"{arr.name} (step {step})", len(init), arr.nbytes))
            init += arr.initial.tobytes() + bytes(_align(arr.nbytes) - arr.nbytes)
    plan.initial = bytes(init)
    if not graph.variables:
        return plan

    groups = _alias_groups(calls)
    consumers = graph.consumers()
    producers = {t: step for step, c in enumerate(calls) if c.kernel for t in c.op.outputs}
    reads: list[_Access] = []
    writes: list[_Access] = []
    for step, call in enumerate(calls):
        if call.var_read is not None:
            out, var = call.var_read
            members = groups.get(out, {out})
            aliasable = (all(t in life and t not in graph.outputs for t in members)
                         and out not in graph.inputs)
            last = max((life[t][1] for t in members if t in life), default=step)
            reads.append(_Access(step, out, var, step, last if aliasable else step, aliasable))
        if call.var_write is not None:
            value, var = call.var_write
            t = graph.tensors[value]
            through = (
                not t.is_const
                and value in producers
                and value not in graph.inputs
                and value not in graph.outputs
                and value not in groups
                and consumers.get(value) == [call.op.index]
            )
            start = producers[value] if through else step
            writes.append(_Access(step, value, var, start, step, through))

    def meets(a: _Access, b: _Access) -> bool:
        return a.var == b.var and a.lo <= b.hi and b.lo <= a.hi

    changed = True
    while changed:
        changed = False
        for w in writes:
            clash = [r for r in reads if meets(r, w)] + [
                o for o in writes if o is not w and meets(o, w)]
            if not clash:
                continue
            if w.aliased:
                w.aliased, w.lo, changed = False, w.step, True
                break
            for r in clash:
                if r in reads and r.aliased:
                    r.aliased, r.hi, changed = False, r.step, True
            if changed:
                break

    for acc in reads + writes:
        if not acc.aliased:
            continue
        offset = var_offset[acc.var]
        for t in groups.get(acc.tensor, {acc.tensor}):
            plan.tensor_offsets[t] = offset
        name = graph.variables[acc.var].name
        kind = "reads" if acc in reads else "is written straight into"
        plan.elided[acc.step] = f"the output {kind} variable '{name}' in the state region"
    return plan


def initial_words(plan: StatePlan) -> tuple[np.ndarray, int]:
    """The initial state as bytes for a flash array, or (when every byte is the same, as for
    zeroed or quantized-zero histories) no array and the byte reset fills with."""
    data = np.frombuffer(plan.initial, dtype=np.uint8)
    if data.size and np.all(data == data[0]):
        return data[:0], int(data[0])
    return data, 0
