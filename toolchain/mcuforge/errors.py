"""User-facing errors.

Every error a user can cause (a bad model, a missing toolchain, a board that is too small, a serial
line that drops bytes) is a subclass of :class:`McuforgeError`. The CLI prints its message and exits
with its ``exit_code``; a traceback means a bug in mcuforge, never a mistake of the user.
"""

from __future__ import annotations


class McuforgeError(Exception):
    """Base class for errors caused by input, environment or target, not by a bug."""

    exit_code = 2


class ModelError(McuforgeError):
    """The model file is not a usable .tflite model (corrupt, truncated, float, ...)."""


class UnsupportedModelError(ModelError):
    """The model is valid but uses ops or parameters mcuforge cannot compile."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


class PipelineError(McuforgeError):
    """A pipeline file or ESPHome manifest that does not describe a runnable pipeline."""


class AudioError(McuforgeError):
    """An audio file or device that cannot be read (format, sample type, no microphone)."""


class RecordingError(McuforgeError):
    """A sensor recording (CSV) that cannot be read or does not fit the pipeline."""


class BoardError(McuforgeError):
    """Unknown board, or a board file that does not validate."""


class ToolchainMissing(McuforgeError):
    """A compiler, emulator or flashing tool is not installed."""


class BuildError(McuforgeError):
    """Compiling or linking the firmware failed."""


class BudgetError(BuildError):
    """The firmware does not fit the board's flash or RAM."""


class LinkError(McuforgeError):
    """The serial link failed: timeout, garbled frames beyond retry, closed port."""


class DeviceError(McuforgeError):
    """The device answered with an error code or reported a fault."""


class TargetError(McuforgeError):
    """The emulator or board could not be started, flashed or reached."""


class MismatchError(McuforgeError):
    """Device outputs differ from the reference (used for exit status only)."""

    exit_code = 1
