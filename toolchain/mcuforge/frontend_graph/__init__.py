"""Audio front ends written as .tflite graphs of TFLM signal-library ops (see ``graph``)."""

from mcuforge.frontend_graph.graph import MICRO_SPEECH, FrontEndParams, check_params, write_frontend

__all__ = ["MICRO_SPEECH", "FrontEndParams", "check_params", "write_frontend"]
