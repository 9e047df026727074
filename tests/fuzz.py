"""Mutation fuzzing of the whole pipeline: damaged .tflite files in, a clear verdict out.

A seeded mutator damages the zoo's small models (bit flips, 32-bit words overwritten with
interesting values, truncation, spliced ranges). Each mutant goes through ``inspect``, the
compiler, a host build of the generated C and, when mcuforge accepts it, a run against the TFLM
interpreter. Every mutant runs in a forked child with a time limit, so a crash or a hang is a
finding, not the end of the campaign.

Outcomes: ``rejected`` (a McuforgeError with a message: the right answer for a broken model),
``bit-exact`` (accepted, TFLM accepts, outputs equal), ``tflm-rejects`` (accepted, TFLM refuses
or fails to run it), ``tflm-crash`` (TFLM's interpreter died: not mcuforge's bug, but a reason
``mcuforge test`` must not run it in-process unguarded), ``tflm-inconsistent`` (TFLM's output
changes when it keeps every tensor instead of reusing its arena, and mcuforge's equals the
latter: TFLM's planner clobbered its own output). Findings: ``traceback`` (any other
exception), ``build-failure`` (generated C does not compile), ``mismatch``, ``crash`` (mcuforge
or its generated code died), ``hang``.

It lives under tests/ because it is test tooling: it needs the zoo, the TFLM reference and a host
C compiler, none of which the installed toolchain depends on.

    python tests/fuzz.py --mutants 100000 --seed 1 [--save tests/fuzz_regressions]
    python tests/fuzz.py --mutator graph --mutants 20000 --seed 1 --jobs 2

``--mutator graph`` (tests/fuzz_graph.py) changes one field of a well-formed model instead:
a shape, a type, a scale, an option, an operand, a buffer.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import hashlib
import json
import multiprocessing as mp
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_graph import mutate_graph  # noqa: E402

ZOO = Path(__file__).parent / "zoo"
#: Seed models and how often each is picked: small, int8, covering the supported ops.
SEEDS = {
    "hello_world_int8.tflite": 5,
    "simple_add.tflite": 3,
    "micro_speech_quantized.tflite": 2,
    "mlperf_kws_ref_model.tflite": 1,
}
#: The structure-aware mutator's seeds add the stateful, front-end and recurrent models: its
#: mutants parse, so they reach the state planner, the signal ops and the LSTM.
GRAPH_SEEDS = {
    **SEEDS,
    "mww_vad.tflite": 1,
    "audio_preprocessor_int8.tflite": 1,
    "mnist_lstm_int8.tflite": 1,
    "mlperf_ic_resnet_int8.tflite": 1,
}
FINDINGS = ("traceback", "build-failure", "mismatch", "crash", "hang")
INTERESTING_WORDS = (
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
    0xFFFFFFFF, 0xFFFFFFFE, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
    0x00000001, 0x00800000, 0x7F7FFFFF, 0x4B000000, 0x2F800000,
)
VECTORS = 3


# ---- mutation --------------------------------------------------------------------------------
def mutate(data: bytes, rng: random.Random, donors: list[bytes]) -> tuple[bytes, str]:
    """One to three random mutations of ``data``; returns the mutant and what was done."""
    out = bytearray(data)
    done = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(("flip", "flip", "word", "word", "word", "byte", "truncate", "splice"))
        n = len(out)
        if n <= 8:  # an earlier truncation left the header alone: nothing more to cut
            break
        if kind == "flip":
            pos = rng.randrange(n)
            bit = rng.randrange(8)
            out[pos] ^= 1 << bit
            done.append(f"flip {pos}.{bit}")
        elif kind == "word":
            pos = rng.randrange(0, n - 3) & ~3
            if rng.random() < 0.7:
                value = rng.choice(INTERESTING_WORDS)
            else:
                (old,) = struct.unpack_from("<I", out, pos)
                value = (old + rng.choice((-16, -2, -1, 1, 2, 16, 256))) & 0xFFFFFFFF
            struct.pack_into("<I", out, pos, value)
            done.append(f"word {pos}=0x{value:08x}")
        elif kind == "byte":
            pos = rng.randrange(n)
            out[pos] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
            done.append(f"byte {pos}={out[pos]}")
        elif kind == "truncate":
            cut = rng.randrange(8, n)
            del out[cut:]
            done.append(f"truncate {cut}")
        else:
            donor = rng.choice(donors) if rng.random() < 0.3 else bytes(out)
            length = rng.randrange(1, min(64, len(donor)))
            src = rng.randrange(0, len(donor) - length)
            dst = rng.randrange(0, n - length) if n > length else 0
            out[dst : dst + length] = donor[src : src + length]
            done.append(f"splice {src}+{length}->{dst}")
    return bytes(out), ", ".join(done)


# ---- one mutant, in a child ------------------------------------------------------------------
def _send(conn: Any, *msg: Any) -> None:
    conn.send(msg)


def examine(model: bytes, workdir: Path, conn: Any) -> None:
    """Run ``model`` through the pipeline, reporting stages and the outcome on ``conn``."""

    from mcuforge.compiler.compile import compile_graph
    from mcuforge.errors import McuforgeError
    from mcuforge.model import parse_model
    from mcuforge.summary import format_summary, inspect_model
    from mcuforge.target.host import HostModel
    from mcuforge.vectors import random_vectors

    stage = "inspect"
    try:
        _send(conn, "stage", stage)
        path = workdir / "mutant.tflite"
        path.write_bytes(model)
        try:
            summary = inspect_model(path)
            format_summary(summary)
            summary.to_dict()
        except McuforgeError:
            pass  # the compile stage below must reject it too, with its own message
        stage = "compile"
        _send(conn, "stage", stage)
        try:
            compiled = compile_graph(parse_model(model, "mutant"))
        except McuforgeError as exc:
            _send(conn, "result", "rejected", type(exc).__name__)
            return
        stage = "build"
        _send(conn, "stage", stage)
        key = hashlib.sha256(compiled.source.encode()).hexdigest()[:20]
        build_dir = workdir / key
        try:
            host = HostModel(compiled, build_dir, reuse=True)
        except McuforgeError as exc:
            _send(conn, "result", "build-failure", str(exc)[-2000:])
            return
        stage = "run"
        _send(conn, "stage", stage)
        vectors = random_vectors(compiled.manifest["inputs"], VECTORS, 0)
        got = [host.run(v.arrays) for v in vectors]
        stage = "reference"
        _send(conn, "stage", stage)
        try:
            from mcuforge.reference import Reference

            ref = Reference(model)
            want = [ref.run(v.arrays) for v in vectors]
        except Exception as exc:  # TFLM's own refusal, at construction or invoke
            _send(conn, "result", "tflm-rejects", f"{type(exc).__name__}: {exc}"[:300])
            return
        stage = "compare"
        where = _first_difference(got, want)
        if where is None:
            _send(conn, "result", "bit-exact", "")
            return
        # TFLM's arena reuse can itself clobber a tensor (a graph output that a later in-place
        # kernel overwrites): the same interpreter keeping every tensor disagrees with it too.
        stage = "reference without memory reuse"
        keep = Reference(model, preserve_all_tensors=True)
        if _first_difference(got, [keep.run(v.arrays) for v in vectors]) is None:
            _send(conn, "result", "tflm-inconsistent", where)
            return
        _send(conn, "result", "mismatch", where)
    except Exception:
        _send(conn, "result", "traceback", f"at {stage}:\n{traceback.format_exc()[-3000:]}")


def _first_difference(got: list, want: list) -> str | None:
    import numpy as np

    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        for o, (a, b) in enumerate(zip(g, w, strict=True)):
            a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
            if a.shape != b.shape or a.tobytes() != b.tobytes():
                return f"vector {i} output {o}"
    return None


def _child(model: bytes, workdir: str, conn: Any) -> None:
    # Silence the child's C-level stderr (TFLM prints its complaints there), and pytest's
    # fault handler, which writes to its own copy of stderr: a dying child is a verdict here.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    faulthandler.disable()
    try:
        examine(model, Path(workdir), conn)
    finally:
        conn.close()


def run_one(model: bytes, workdir: Path, timeout: float = 60.0) -> tuple[str, str]:
    """Examine ``model`` in a forked child: (outcome, detail)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(model, str(workdir), child))
    proc.start()
    child.close()
    stage, result = "start", None
    deadline = time.monotonic() + timeout
    while result is None:
        left = deadline - time.monotonic()
        if left <= 0 or not parent.poll(left):
            break
        try:
            msg = parent.recv()
        except EOFError:
            break
        if msg[0] == "stage":
            stage = msg[1]
        else:
            result = (msg[1], msg[2])
    proc.join(max(0.0, deadline - time.monotonic()) if result is None else 5.0)
    if proc.is_alive():
        proc.kill()
        proc.join()
        if result is None:
            parent.close()
            return "hang", f"no verdict within {timeout:.0f} s (at {stage})"
    proc.join()
    parent.close()
    if result is not None:
        return result
    code = proc.exitcode
    if stage.startswith("reference"):
        return "tflm-crash", f"the TFLM interpreter died (exit {code})"
    return "crash", f"died at {stage} (exit {code})"


# ---- campaign --------------------------------------------------------------------------------
def _warm_imports() -> None:
    """Import what a child needs once, in the parent: forked children inherit it."""
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401

    import mcuforge.compiler.compile  # noqa: F401
    import mcuforge.reference  # noqa: F401
    import mcuforge.summary  # noqa: F401
    import mcuforge.target.host  # noqa: F401


def campaign(
    mutants: int,
    seed: int,
    *,
    save: Path | None = None,
    progress: bool = False,
    timeout: float = 60.0,
    log: Path | None = None,
    shard: tuple[int, int] = (0, 1),
    first: int = 0,
    mutator: str = "bytes",
) -> dict[str, Any]:
    """Run seeded mutants ``first``..``mutants - 1`` (those with ``index % shard[1] ==
    shard[0]``); returns counts and the findings (outcome, name, detail). Mutant i depends on
    (seed, mutator, i) alone, so a campaign stopped at N goes on with ``first=N``."""
    _warm_imports()
    seeds = GRAPH_SEEDS if mutator == "graph" else SEEDS
    originals = {name: (ZOO / name).read_bytes() for name in seeds}
    donors = [originals[name] for name in SEEDS]
    names = [n for n, w in seeds.items() for _ in range(w)]
    tag = "g" if mutator == "graph" else ""
    counts: collections.Counter[str] = collections.Counter()
    findings: list[tuple[str, str, str]] = []
    start = time.monotonic()
    if log is not None:  # a new folder for this campaign's log
        log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcuforge-fuzz-") as tmp:
        workdir = Path(tmp)
        for n_done, i in enumerate(range(first + shard[0], mutants, shard[1]), start=1):
            rng = random.Random(f"{seed}:{i}")
            base = rng.choice(names)
            if mutator == "graph":
                mutant, how = mutate_graph(originals[base], rng)
            else:
                mutant, how = mutate(originals[base], rng, donors)
            outcome, detail = run_one(mutant, workdir, timeout)
            counts[outcome] += 1
            if outcome in FINDINGS or outcome in ("tflm-crash", "tflm-inconsistent"):
                label = f"{outcome}-{base.split('.')[0]}-{tag}s{seed}-m{i}"
                findings.append((outcome, label, f"{how}: {detail}"))
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    (save / f"{label}.tflite").write_bytes(mutant)
                    (save / f"{label}.txt").write_text(f"{how}\n{detail}\n")
            if log is not None and n_done % 500 == 0:
                with log.open("a") as f:
                    f.write(f"{n_done} {time.monotonic() - start:.0f}s {dict(counts)}\n")
            if progress and n_done % 100 == 0:
                print(f"{n_done}/{mutants} {time.monotonic() - start:.0f}s {dict(counts)}",
                      flush=True)
            # Host builds are cached per generated source within a campaign; keep disk bounded.
            if n_done % 2000 == 0:
                for entry in workdir.iterdir():
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
    accepted = sum(counts[k] for k in counts if k != "rejected")
    return {
        "mutants": sum(counts.values()),
        "seed": seed,
        "mutator": mutator,
        "seconds": round(time.monotonic() - start, 1),
        "rejected_cleanly": counts["rejected"],
        "accepted": accepted,
        "bit_exact": counts["bit-exact"],
        "tflm_rejects": counts["tflm-rejects"],
        "tflm_crashes": counts["tflm-crash"],
        "tflm_inconsistent": counts["tflm-inconsistent"],
        **{k.replace("-", "_"): counts[k] for k in FINDINGS},
        "findings": findings,
    }


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for r in results:
        for key, value in r.items():
            if key in ("seed", "mutator"):
                total[key] = value
            elif key == "seconds":
                total[key] = max(total.get(key, 0), value)
            else:
                total[key] = total.get(key, 0 if not isinstance(value, list) else []) + value
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mutants", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="parallel shards")
    parser.add_argument("--shard", default="0/1", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--save", type=Path, help="write findings as regression files here")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--log", type=Path, help="append counts every 500 mutants")
    parser.add_argument("--mutator", choices=("bytes", "graph"), default="bytes",
                        help="damage bytes, or change one field of a well-formed model")
    parser.add_argument("--first", type=int, default=0,
                        help="first mutant index: go on with a campaign stopped there")
    args = parser.parse_args()
    if args.jobs > 1:
        procs, outs = [], []
        tmp = Path(tempfile.mkdtemp(prefix="mcuforge-fuzz-shards-"))
        for k in range(args.jobs):
            out = tmp / f"shard{k}.json"
            cmd = [sys.executable, __file__, "--mutants", str(args.mutants), "--seed",
                   str(args.seed), "--shard", f"{k}/{args.jobs}", "--json", str(out),
                   "--timeout", str(args.timeout), "--first", str(args.first),
                   "--mutator", args.mutator]
            cmd += ["--save", str(args.save)] if args.save else []
            cmd += ["--log", f"{args.log}.{k}"] if args.log else []
            procs.append(subprocess.Popen(cmd))
            outs.append(out)
        for p in procs:
            p.wait()
        result = _merge([json.loads(o.read_text()) for o in outs])
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        k, n = (int(x) for x in args.shard.split("/"))
        result = campaign(args.mutants, args.seed, save=args.save, progress=args.json is None,
                          timeout=args.timeout, log=args.log, shard=(k, n), first=args.first,
                          mutator=args.mutator)
        if args.json is not None:
            args.json.write_text(json.dumps(result))
            return 0
    for outcome, label, detail in result.pop("findings"):
        print(f"FINDING {label}: {detail.splitlines()[0] if detail else outcome}")
    for key, value in result.items():
        print(f"{key}: {value}")
    return 1 if any(result[k.replace("-", "_")] for k in FINDINGS) else 0


if __name__ == "__main__":
    sys.exit(main())
