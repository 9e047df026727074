"""mcuforge: compile int8 TinyML models ahead of time into bare-metal firmware."""

__version__ = "0.1.0"
