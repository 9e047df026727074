"""`mcuforge test` over a damaged serial line: a proxy between the host and QEMU's console socket
corrupts 1 % and drops 0.1 % of the bytes in both directions (seeded). The run must stay
bit-exact and finish, counting its retries; a line that goes silent is a clear error within the
retry budget, never a hang."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkproxy import FaultyProxy
from mcuforge.errors import LinkError
from mcuforge.target import qemu
from mcuforge.target.link import Link

pytestmark = pytest.mark.qemu


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FaultyProxy]]:
    """Every link QEMU targets open goes through a FaultyProxy (listed for inspection)."""
    proxies: list[FaultyProxy] = []
    original = Link.open.__func__  # type: ignore[attr-defined]

    def open_via_proxy(cls, url: str, **kwargs):  # type: ignore[no-untyped-def]
        port = int(url.rsplit(":", 1)[1])
        proxy = FaultyProxy(port, seed=len(proxies) + 7)
        proxies.append(proxy)
        return original(cls, f"socket://127.0.0.1:{proxy.port}", **kwargs)

    monkeypatch.setattr(qemu.Link, "open", classmethod(open_via_proxy))
    yield proxies
    for p in proxies:
        p.close()


def test_test_stays_bit_exact_over_a_noisy_line(zoo: Path, an386, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                proxied: list[FaultyProxy]) -> None:
    from mcuforge.verify import run_test

    report = run_test(zoo / "hello_world_int8.tflite", an386, vectors=25,
                      build_dir=tmp_path / "fw")
    assert report.mismatches == 0 and report.vectors == 25
    damage = proxied[0].damage
    hurt = sum(d.corrupted + d.dropped for d in damage.values())
    assert hurt > 0 and damage["to_device"].corrupted and damage["to_host"].corrupted, damage
    # Damage was seen and survived by retrying: the report counts it.
    assert report.link["retries"] > 0 and report.link["bad_frames"] + report.link["naks"] > 0
    assert report.to_dict()["link"]["retries"] == report.link["retries"]


def test_a_stalled_device_is_a_clear_timeout(zoo: Path, an386, tmp_path: Path,  # type: ignore[no-untyped-def]
                                             proxied: list[FaultyProxy]) -> None:
    from mcuforge.build import build_firmware

    build = build_firmware(zoo / "hello_world_int8.tflite", an386, tmp_path / "fw")
    with qemu.QemuTarget(an386, build.elf) as device:
        proxied[0].corrupt = proxied[0].drop = 0.0
        assert device.ping(b"alive") == b"alive"
        proxied[0].stalled = True
        start = time.monotonic()
        with pytest.raises(LinkError, match="PING got no valid reply after 4 attempts") as info:
            device.ping(b"anyone?")
        elapsed = time.monotonic() - start
    assert "no reply within 2.0 s" in str(info.value)
    assert elapsed < 4 * 2.0 + 2.0
