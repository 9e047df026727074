"""End to end on QEMU mps2-an386: real firmware, real serial protocol, TFLM as the oracle."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cobs import cobs

from mcuforge import protocol
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.errors import DeviceError, LinkError
from mcuforge.protocol import Cmd, NakReason
from mcuforge.target.qemu import QemuTarget

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def hello_build(zoo: Path, an386, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_firmware(zoo / "hello_world_int8.tflite", an386, tmp_path_factory.mktemp("hello"))


@pytest.mark.parametrize("model,vectors", [("hello_world_int8", 50), ("simple_add", 8)])
def test_cli_test_is_bit_exact(zoo: Path, model: str, vectors: int, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = CliRunner().invoke(
        cli,
        [
            "test",
            str(zoo / f"{model}.tflite"),
            "--board",
            "mps2-an386",
            "--vectors",
            str(vectors),
            "--json",
            "--junit",
            str(junit),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"] == model and report["board"] == "mps2-an386"
    assert report["vectors"] == vectors and report["mismatches"] == 0
    assert report["instructions_per_inference"] > 0
    assert junit.read_text().count("<testcase") == vectors


ZOO_MODELS = ["micro_speech_quantized", "person_detect", "mlperf_kws_ref_model",
              "mlperf_ic_resnet_int8", "mlperf_ad01_int8"]


@pytest.mark.parametrize("model", ZOO_MODELS)
def test_published_models_are_bit_exact_on_cortex_m4(zoo: Path, model: str) -> None:
    result = CliRunner().invoke(cli, ["test", str(zoo / f"{model}.tflite"), "--board",
                                      "mps2-an386", "--vectors", "10", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["vectors"] == 10 and report["mismatches"] == 0


def test_layers_of_a_published_model_match(zoo: Path) -> None:
    result = CliRunner().invoke(cli, ["test", str(zoo / "mlperf_kws_ref_model.tflite"), "-b",
                                      "mps2-an386", "-n", "2", "--layers", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["layers"]) >= 12 and report["first_divergent_layer"] is None


def test_layers_of_hello_world_match(zoo: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "test",
            str(zoo / "hello_world_int8.tflite"),
            "-b",
            "mps2-an386",
            "-n",
            "3",
            "--layers",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["layers"]) == 3 and report["first_divergent_layer"] is None
    assert all(layer["mismatches"] == 0 for layer in report["layers"])


def test_garbage_truncated_and_bad_crc_frames_are_survived(hello_build) -> None:  # type: ignore[no-untyped-def]
    with QemuTarget(hello_build.board, hello_build.elf) as device:
        link = device.link
        # Garbage: random bytes with zeros in them, then a good frame.
        link.send_raw(bytes(range(1, 200)) + b"\x00\x17\x00\xff\xfe\x00")
        assert device.ping(b"after garbage") == b"after garbage"
        # A frame cut in half, immediately followed by a good frame.
        link.send_raw(protocol.encode(Cmd.PING, 99, b"x" * 300)[:150])
        assert device.ping(b"after truncation") == b"after truncation"
        # A frame whose CRC is wrong: NAKed with the reason, then the next frame is answered.
        body = bytearray(protocol.encode(Cmd.PING, 5, b"crc")[1:-1])
        decoded = bytearray(cobs.decode(bytes(body)))
        decoded[-1] ^= 0x5A
        link.send_raw(b"\x00" + cobs.encode(bytes(decoded)) + b"\x00")
        nak = link.receive(timeout=2.0)
        assert nak is not None and nak.cmd == Cmd.NAK and nak.payload[0] == NakReason.BAD_CRC
        # A frame longer than the firmware's buffer.
        link.send_raw(b"\x00" + b"\x01" * 2000 + b"\x00")
        nak = link.receive(timeout=2.0)
        assert nak is not None and nak.cmd == Cmd.NAK and nak.payload[0] == NakReason.OVERFLOW
        assert device.info().model == "hello_world_int8"
        assert link.stats.naks >= 1


def test_damaged_payload_byte_is_naked_as_bad_crc(hello_build) -> None:  # type: ignore[no-untyped-def]
    """A payload byte changed after COBS encoding: the firmware's CRC check is all that can see
    it. NAK BAD_CRC, no reply to the damaged command, and the next one is answered."""
    from test_protocol import damage_payload_byte

    with QemuTarget(hello_build.board, hello_build.elf) as device:
        link = device.link
        link.send_raw(damage_payload_byte(protocol.encode(Cmd.PING, 42, b"payload"), 3))
        nak = link.receive(timeout=2.0)
        assert nak is not None and nak.cmd == Cmd.NAK and nak.payload[0] == NakReason.BAD_CRC
        assert link.receive(timeout=0.3) is None  # the damaged PING was not answered
        assert device.ping(b"next") == b"next"


def test_device_errors_are_coded_replies(hello_build) -> None:  # type: ignore[no-untyped-def]
    with QemuTarget(hello_build.board, hello_build.elf) as device:
        with pytest.raises(DeviceError, match="out of range"):
            device.set_input(0, b"\x01\x02")  # the input holds one byte
        with pytest.raises(DeviceError, match="out of range"):
            device.get_output(3, 1)
        with pytest.raises(DeviceError, match="does not know this command"):
            device.link.request(0x35)  # type: ignore[arg-type]
        with pytest.raises(DeviceError, match="outside the request codes"):
            device.link.request(0x70)  # type: ignore[arg-type]
        with pytest.raises(DeviceError, match="not available in this build"):
            device.read_tensor(0, 1)
        assert device.ping(b"still alive") == b"still alive"


def test_silent_firmware_fails_with_the_reason_and_leaves_nothing(
    hello_build,
    an386,  # type: ignore[no-untyped-def]
    zoo: Path,
    tmp_path: Path,
) -> None:
    # A firmware whose console is on an unconnected UART never sends its banner.
    wrong = dataclasses.replace(
        an386, console=dataclasses.replace(an386.console, base=0x40005000, irq=2)
    )
    build = build_firmware(zoo / "hello_world_int8.tflite", wrong, tmp_path)
    target = QemuTarget(wrong, build.elf, banner_timeout=1.0)
    start = time.monotonic()
    with pytest.raises(LinkError, match="no boot banner"):
        target.start()
    assert time.monotonic() - start < 10
    assert target.proc is None  # QEMU was stopped


def test_watchdog_stops_a_run_that_takes_too_long(hello_build) -> None:  # type: ignore[no-untyped-def]
    target = QemuTarget(hello_build.board, hello_build.elf, watchdog_s=1.0, link_timeout=0.5)
    device = target.start()
    try:
        time.sleep(1.5)
        assert target.timed_out
        with pytest.raises(LinkError):
            device.ping()
    finally:
        target.close()


def test_every_command_byte_gets_an_answer_in_its_own_code_space(hello_build) -> None:  # type: ignore[no-untyped-def]
    """Protocol v1 answered code 0x70 with 0xF0, which the host took for a boot banner. Codes
    are disjoint now: a request gets a reply in 0x81-0xBF with its seq, anything else a NAK
    naming the code, never a code the host reads as an event."""
    from mcuforge import protocol

    with QemuTarget(hello_build.board, hello_build.elf) as device:
        link = device.link
        for code in range(256):
            seq = code ^ 0x5A
            link.send_raw(protocol.encode(code, seq))
            frame = link.receive(2.0)
            assert frame is not None, f"no answer to 0x{code:02x}"
            assert frame.seq == seq, f"0x{code:02x}: answer carries seq {frame.seq}"
            if protocol.is_request(code):
                assert frame.cmd == code | protocol.Cmd.RESPONSE
            else:
                assert frame.cmd == protocol.Cmd.NAK
                assert list(frame.payload) == [protocol.NakReason.NOT_A_REQUEST, code]
            assert not protocol.is_event(frame.cmd)
        assert device.ping(b"still alive") == b"still alive"
