"""A TCP proxy that damages a serial line: it sits between the host and QEMU's console socket and
corrupts or drops bytes in both directions, seeded, or stops forwarding altogether (a stalled
device). Test tooling for tests/test_link_faults.py; listens on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Damage:
    corrupted: int = 0
    dropped: int = 0
    forwarded: int = 0


@dataclass
class FaultyProxy:
    """Forward 127.0.0.1:``port`` (once a client connects) to 127.0.0.1:``target``, corrupting
    each byte with probability ``corrupt`` (XOR with a random non-zero value) and dropping it
    with probability ``drop``."""

    target: int
    corrupt: float = 0.01
    drop: float = 0.001
    seed: int = 0
    stalled: bool = False
    damage: dict[str, Damage] = field(default_factory=lambda: {"to_device": Damage(),
                                                               "to_host": Damage()})

    def __post_init__(self) -> None:
        # Upstream first: QEMU must see its client connected before the CPU starts, or the
        # boot banner goes nowhere.
        self._upstream = socket.create_connection(("127.0.0.1", self.target))
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._socks: list[socket.socket] = [self._server]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = self._upstream
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socks += [client, upstream]
            for src, dst, name, salt in ((client, upstream, "to_device", 1),
                                         (upstream, client, "to_host", 2)):
                rng = random.Random(self.seed * 1000 + salt)
                threading.Thread(target=self._pump, args=(src, dst, self.damage[name], rng),
                                 daemon=True).start()
            return

    def _pump(self, src: socket.socket, dst: socket.socket, damage: Damage,
              rng: random.Random) -> None:
        src.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = src.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if self.stalled:
                continue
            out = bytearray()
            for b in data:
                r = rng.random()
                if r < self.drop:
                    damage.dropped += 1
                    continue
                if r < self.drop + self.corrupt:
                    b ^= rng.randrange(1, 256)
                    damage.corrupted += 1
                out.append(b)
            damage.forwarded += len(out)
            try:
                dst.sendall(bytes(out))
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
