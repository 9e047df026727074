"""Exporters: the compiled model and mcuforge's runtime as projects for other build systems.

:func:`~mcuforge.export.platformio.export_platformio` writes a PlatformIO project;
:mod:`~mcuforge.export.local_platform` writes a registry-free PlatformIO dev-platform around the
Debian Arm toolchain; :data:`~mcuforge.export.cli.export_group` is ``mcuforge export``.
"""
