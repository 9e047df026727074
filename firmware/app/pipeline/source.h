/* A board's own sample source (a PDM microphone, an accelerometer on I2C) feeding the pipeline.
 *
 * A driver under platform/<family>/sources/ (listed in boards/_sources.toml, configured by the
 * board file's [sources.<kind>] table through the generated source_config.h) defines these.
 * pipeline_server.c holds weak defaults reporting "no source", so an image without a driver
 * answers PIPELINE_RESET source=1 with "not available"; a standalone image
 * (standalone/standalone.c) starts the source at boot.
 *
 * Contract: mf_source_start() configures and starts the hardware (0 on success, a negative
 * driver-specific code otherwise); mf_source_poll() runs in the main loop (never in an
 * interrupt) and hands every sample group that arrived since the last call, in order, to
 * mf_pipeline_push()/mf_pipeline_feed() with the sink it is given; the driver must wake the
 * main loop (an interrupt) whenever samples arrive, since the loop sleeps in WFI. */
#ifndef MCUFORGE_SOURCE_H
#define MCUFORGE_SOURCE_H

#include <stdint.h>

#include "pipeline.h"

int mf_source_start(uint32_t sample_rate, uint16_t channels);
void mf_source_stop(void);
void mf_source_poll(const mf_pipeline_sink_t *sink);

/* One line of text naming the source and how it runs (the standalone banner shows it). */
const char *mf_source_describe(void);

/* Sample blocks lost because the main loop fell behind (0 when the driver cannot tell). */
uint32_t mf_source_overruns(void);

#endif
