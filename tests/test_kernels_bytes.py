"""mf_copy_bytes (firmware/runtime/kernels/bytes.h), the copy behind CONCATENATION, SPLIT and
the strided copies: every source and destination offset within a word, every length up to
three 64-byte blocks plus a tail, against memcpy, under the address and undefined-behaviour
sanitizers. Compiled models rarely reach the aligned-head path (both pointers one to three
bytes past a word), so it is checked here directly."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import need_tools

RUNTIME = Path(__file__).resolve().parents[1] / "firmware" / "runtime"

PROGRAM = r"""
#include <stdio.h>
#include <string.h>

#include "kernels/bytes.h"

int main(void) {
    static unsigned char src[256], want[256], got[256];
    long checked = 0;
    for (unsigned i = 0; i < sizeof src; ++i) src[i] = (unsigned char)(i * 37u + 11u);
    for (size_t so = 0; so < 4; ++so)
        for (size_t dof = 0; dof < 4; ++dof)
            for (size_t n = 0; n <= 3 * 64 + 19; ++n) {
                memset(want, 0xA5, sizeof want);
                memset(got, 0xA5, sizeof got);
                memcpy(want + dof + 8, src + so, n);
                mf_copy_bytes(got + dof + 8, src + so, n);
                if (memcmp(want, got, sizeof want) != 0) {
                    printf("differs: src offset %zu, dst offset %zu, %zu bytes\n", so, dof, n);
                    return 1;
                }
                ++checked;
            }
    printf("ok %ld\n", checked);
    return 0;
}
"""


def test_copy_bytes_equals_memcpy_at_every_alignment(tmp_path: Path) -> None:
    need_tools("gcc")
    source = tmp_path / "bytes_test.c"
    source.write_text(PROGRAM)
    exe = tmp_path / "bytes_test"
    subprocess.run(["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{RUNTIME}", str(source), "-o", str(exe)], check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"ok {4 * 4 * (3 * 64 + 20)}"
