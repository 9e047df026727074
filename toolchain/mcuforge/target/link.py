"""The host end of the serial line: framed requests with timeouts and retries, over pyserial.

The same code talks to QEMU (``socket://127.0.0.1:PORT``), Renode (the same) and a board
(``/dev/ttyACM0``): :meth:`Link.open` takes any URL pyserial's ``serial_for_url`` accepts.

Every request is retried when its reply is lost, damaged or NAKed; every command is idempotent
(SET_INPUT writes at an explicit offset), so a retry is always safe. Nothing here blocks without
a deadline.
"""

from __future__ import annotations

import collections
import contextlib
import time
from dataclasses import dataclass

import serial

from mcuforge import protocol
from mcuforge.errors import DeviceError, LinkError
from mcuforge.protocol import Cmd, Frame, FrameError, Status

#: How long to keep waiting for the real reply after a NAK (which may be for earlier garbage).
NAK_GRACE_S = 0.2
#: Silence after part of a frame that means its closing zero was lost.
IDLE_GAP_S = 0.25
#: Attempts allowed on a line that answers with damaged frames or NAKs (a live but noisy line);
#: a silent line gets ``retries``.
NOISY_RETRIES = 40


@dataclass
class LinkStats:
    frames_sent: int = 0
    frames_received: int = 0
    retries: int = 0
    naks: int = 0
    bad_frames: int = 0


class Link:
    """A framed request/reply channel to one device."""

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        timeout: float = 2.0,
        retries: int = 3,
        name: str = "device",
    ):
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.name = name
        self.stats = LinkStats()
        self._seq = 0
        self._rx = bytearray()
        self._log: collections.deque[int] = collections.deque(maxlen=4096)
        self._events: list[Frame] = []
        self._damage_seen = False
        self._last_rx = 0.0

    @classmethod
    def open(
        cls,
        url: str,
        *,
        baudrate: int = 115200,
        timeout: float = 2.0,
        retries: int = 3,
        name: str | None = None,
    ) -> Link:
        try:
            port = serial.serial_for_url(
                url, baudrate=baudrate, timeout=0.05, write_timeout=timeout
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {url}: {exc}") from None
        return cls(port, timeout=timeout, retries=retries, name=name or url)

    def close(self) -> None:
        # Closing a dead socket must not mask the real error.
        with contextlib.suppress(Exception):
            self.port.close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- receiving -------------------------------------------------------------------------
    def tail(self, limit: int = 512) -> str:
        """The last bytes received, for error messages: printable text kept, the rest as hex."""
        data = bytes(self._log)[-limit:]
        if not data:
            return "(nothing received)"
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
        return f"{len(data)} bytes: {data.hex(' ')}\n  as text: {text}"

    def _read_some(self, deadline: float) -> bool:
        try:
            waiting = self.port.in_waiting
            chunk = self.port.read(max(1, min(waiting, 4096)))
        except (serial.SerialException, OSError) as exc:
            raise LinkError(
                f"{self.name}: serial line failed: {exc}\n  last received: {self.tail()}"
            ) from None
        if chunk:
            self._last_rx = time.monotonic()
            self._rx += chunk
            self._log.extend(chunk)
            return True
        return time.monotonic() < deadline

    def _next_frame(self, deadline: float) -> Frame | None:
        """The next well-formed frame before ``deadline``, or None. Damaged frames are counted
        and skipped (``_damage_seen`` tells the caller): the device resends on our retry. A
        frame left unterminated for :data:`IDLE_GAP_S` (its closing zero was lost) is dropped
        as damaged instead of waiting for the next frame to close it."""
        while True:
            while True:
                end = self._rx.find(0)
                if end < 0:
                    break
                encoded = bytes(self._rx[:end])
                del self._rx[: end + 1]
                if not encoded:
                    continue
                try:
                    frame = protocol.decode(encoded)
                except FrameError:
                    self.stats.bad_frames += 1
                    self._damage_seen = True
                    continue
                self.stats.frames_received += 1
                if frame.cmd == Cmd.EVENT_FAULT:
                    n = frame.payload[0] if frame.payload else 0
                    text = frame.payload[1 : 1 + n].decode(errors="replace")
                    raise DeviceError(f"{self.name} faulted: {text}")
                return frame
            now = time.monotonic()
            if self._rx and now - self._last_rx > IDLE_GAP_S:
                self._rx.clear()
                self.stats.bad_frames += 1
                self._damage_seen = True
            if now >= deadline:
                return None
            if not self._read_some(deadline) and time.monotonic() >= deadline:
                return None

    def receive(self, timeout: float) -> Frame | None:
        """The next well-formed frame within ``timeout`` seconds (events and NAKs included)."""
        return self._next_frame(time.monotonic() + timeout)

    def wait_ready(self, timeout: float = 5.0) -> str:
        """Wait for the boot banner; returns the firmware name."""
        deadline = time.monotonic() + timeout
        self._damage_seen = False
        while (frame := self._next_frame(deadline)) is not None or self._damage_seen:
            if frame is None:
                # Something arrived damaged, perhaps the banner: a device that answers is up.
                self._damage_seen = False
                with contextlib.suppress(LinkError):
                    self.request(Cmd.PING, b"ready?")
                    return ""
                continue
            if frame.cmd == Cmd.EVENT_READY and frame.payload:
                version = frame.payload[0]
                if version != protocol.PROTOCOL_VERSION:
                    raise DeviceError(protocol.version_mismatch(version))
                n = frame.payload[1] if len(frame.payload) > 1 else 0
                return frame.payload[2 : 2 + n].decode(errors="replace")
        raise LinkError(
            f"{self.name} sent no boot banner within {timeout:.1f} s\n  last received: "
            f"{self.tail()}"
        )

    def take_events(self) -> list[Frame]:
        """Event frames (other than the boot banner) received so far, oldest first; each is
        returned once."""
        events, self._events = self._events, []
        return events

    # ---- requests --------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests use it to send garbage)."""
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"{self.name}: cannot write to the serial line: {exc}") from None

    def request(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None,
                same_seq: bool = False) -> bytes:
        """Send a command and return its reply's data (status byte stripped).

        A ``repeatable`` command is retried, and a reply to any of its attempts counts. An
        attempt ends early when the line shows damage (a NAK, a frame that fails its checks):
        waiting longer would only wait for a reply that was lost. A command allowed more time
        than the link timeout (INVOKE) is probed with a PING after each link timeout of
        silence: a PING answered before the command means the command never arrived.

        Raises :class:`DeviceError` when the device answers with an error status and
        :class:`LinkError` when no valid reply arrives: after ``retries`` silent attempts
        (a stalled device) or :data:`NOISY_RETRIES` attempts on a line that keeps damaging
        frames. With ``same_seq`` every attempt carries the first attempt's sequence number,
        and the firmware answers a repeated INVOKE from its cache instead of running the model
        again: running it twice would compute something else (the memory plan may reuse an
        input's bytes, and a streaming model's state would advance twice).
        """
        timeout = self.timeout if timeout is None else timeout
        name = Cmd(cmd).name if cmd in Cmd._value2member_map_ else f"command 0x{cmd:02x}"
        problems: list[str] = []
        seqs: set[int] = set()
        silent = attempts = 0
        while silent <= self.retries and attempts <= NOISY_RETRIES:
            if attempts:
                self.stats.retries += 1
            attempts += 1
            seq = self._send(cmd, payload, next(iter(seqs)) if same_seq and seqs else None)
            seqs.add(seq)
            self._damage_seen = False
            received = self.stats.frames_received + self.stats.bad_frames
            reply = self._await(cmd, seqs, timeout, problems)
            if reply is not None:
                status = reply.payload[0] if reply.payload else Status.BAD_ARGUMENT
                if status != Status.OK:
                    raise DeviceError(f"{self.name}: {name} failed: {protocol.status_text(status)}")
                return reply.payload[1:]
            silent += self.stats.frames_received + self.stats.bad_frames == received
        raise LinkError(
            f"{self.name}: {name} got no valid reply after {attempts} attempts "
            f"({'; '.join(problems[-6:])}); {self.stats.bad_frames} damaged frames seen\n"
            f"  last received: {self.tail()}"
        )

    def _send(self, cmd: int, payload: bytes, seq: int | None = None) -> int:
        if seq is None:
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
        self.send_raw(protocol.encode(cmd, seq, payload))
        self.stats.frames_sent += 1
        return seq

    def _await(self, cmd: int, seqs: set[int], timeout: float, problems: list[str]) -> Frame | None:
        """The reply to ``cmd`` (any of ``seqs``) within ``timeout``, or None to retry."""
        now = time.monotonic()
        deadline = now + timeout
        probe_at = now + self.timeout if timeout > self.timeout else None
        probe: int | None = None
        cut_short = False
        while True:
            now = time.monotonic()
            if self._damage_seen and not cut_short:
                # A damaged frame may have been our reply: do not wait out the full timeout.
                deadline, cut_short, probe_at = min(deadline, now + NAK_GRACE_S), True, None
            if now >= deadline:
                problems.append("damaged reply" if self._damage_seen
                                else f"no reply within {timeout:.1f} s")
                return None
            if probe_at is not None and now >= probe_at:
                probe = self._send(Cmd.PING, b"")  # is the device busy, or was cmd lost?
                probe_at = now + self.timeout
            frame = self._next_frame(min(deadline, probe_at or deadline, now + 0.05))
            if frame is None:
                continue
            if frame.cmd == Cmd.NAK:
                self.stats.naks += 1
                reason = frame.payload[0] if frame.payload else 0
                if reason == protocol.NakReason.NOT_A_REQUEST and frame.seq in seqs:
                    raise DeviceError(
                        f"{self.name}: command 0x{cmd:02x} refused: it is outside the request "
                        f"codes 0x{protocol.REQUEST_FIRST:02x}-0x{protocol.REQUEST_LAST:02x}")
                problems.append(f"NAK: {protocol.nak_text(reason)}")
                deadline, cut_short, probe_at = min(deadline, now + NAK_GRACE_S), True, None
                continue
            if protocol.is_event(frame.cmd) and frame.cmd != Cmd.EVENT_READY:
                self._events.append(frame)  # e.g. detections sent while handling a request
                continue
            if frame.cmd == (cmd | Cmd.RESPONSE) and frame.seq in seqs:
                return frame
            if probe is not None and frame.cmd == (Cmd.PING | Cmd.RESPONSE) and frame.seq == probe:
                problems.append("the device answered a probe, not the command")
                return None
            # Otherwise a late reply to an earlier request: skip it.
