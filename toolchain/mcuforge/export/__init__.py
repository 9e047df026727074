"""Exporters: the compiled models and mcuforge's runtime for other build systems.

- :func:`~mcuforge.export.platformio.export_platformio`: a whole PlatformIO firmware project
  (:mod:`~mcuforge.export.local_platform`: a registry-free dev-platform around the Debian Arm
  toolchain);
- libraries for the user's own firmware, built on :mod:`~mcuforge.export.library`:
  :func:`~mcuforge.export.cmake.export_cmake`, :func:`~mcuforge.export.zephyr.export_zephyr`,
  :func:`~mcuforge.export.arduino.export_arduino`, :func:`~mcuforge.export.espidf.export_espidf`
  (docs/embedding.md).

:data:`~mcuforge.export.cli.export_group` is ``mcuforge export``.
"""
