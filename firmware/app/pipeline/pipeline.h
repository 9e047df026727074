/* The pipeline stage runner: samples in, feature frames, model scores and detection events out.
 *
 *   samples --(audio ring: the newest `window` samples)--> front end, every `hop` samples
 *     --> feature frame (frame ring: the newest `ring_frames` frames)
 *     --> each model stage whose schedule says so: streaming models on each new group of N
 *         frames, windowed models on the last F frames every S frames
 *     --> detectors (smoothing, cutoff, refractory, gates) --> events
 *
 * One generic runner for every pipeline: what it runs comes from the generated table
 * `mf_pipeline` (pipeline_config.c). Models and the front end run one after another, so they
 * may share one arena; everything that must survive between them (samples, frames, the models'
 * last outputs, detector rings) lives outside it. Integer arithmetic only.
 *
 * Sources of samples call mf_pipeline_feed()/mf_pipeline_push(): the protocol server with
 * chunks sent by the host (pipeline_server.c), or a driver under platform/<family>/ (PDM
 * microphone, I2C sensor) through mf_source_poll(). */
#ifndef MCUFORGE_PIPELINE_H
#define MCUFORGE_PIPELINE_H

#include <stdint.h>

#include "mcuforge.h"
#include "pipeline_detect.h"

enum { MF_STAGE_STREAMING = 0, MF_STAGE_WINDOWED = 1 };

typedef struct {
    const mcuforge_model_t *model;
    uint8_t kind;         /* MF_STAGE_* */
    uint8_t score_offset; /* added to output values to give scores 0..255 (int8: 128) */
    uint16_t frames;      /* frames per invocation: the model's input holds this many */
    uint16_t stride;      /* frames between invocations */
    uint8_t *last_output; /* output 0 of the last invocation (the arena is shared) */
} mf_stage_t;

typedef struct {
    uint32_t sample_rate;
    uint16_t channels;
    uint16_t window;      /* samples per frame (per channel) */
    uint16_t hop;         /* samples between frames */
    uint16_t frame_bytes; /* bytes of a feature frame: the front end's output 0 */
    uint16_t ring_frames;
    uint8_t num_stages;
    uint8_t num_detectors;
    const mcuforge_model_t *frontend;
    int16_t *audio;  /* window * channels samples */
    uint8_t *frames; /* ring_frames * frame_bytes */
    const mf_stage_t *stages;
    const mf_detector_t *detectors;
    mf_detector_state_t *detector_state;
    uint32_t *stage_ticks; /* num_stages counters of the current frame */
} mf_pipeline_config_t;

/* The pipeline linked into this image (generated pipeline_config.c). */
extern const mf_pipeline_config_t mf_pipeline;

/* What one frame computed, handed to the sink before the next frame starts. Ticks are the
 * platform counter's (the host converts them to instructions). */
typedef struct {
    uint32_t frame;      /* index in the stream, from 0 */
    uint32_t end_sample; /* samples of the stream up to the frame's last one */
    const uint8_t *features;
    uint32_t invoked;    /* bit s: stage s ran on this frame */
    uint32_t frontend_ticks;
    const uint32_t *stage_ticks; /* per stage, 0 when it did not run */
    uint32_t detect_ticks;
    uint32_t total_ticks; /* the whole frame: copies, front end, models, detectors */
} mf_frame_result_t;

typedef struct {
    uint8_t detector;
    uint8_t stage;
    uint8_t element;
    uint8_t flags; /* bit 0: blocked by the detector's gate */
    uint8_t mean;
    uint8_t max;
    uint32_t frame;
    uint32_t end_sample;
} mf_event_t;

#define MF_EVENT_BLOCKED 1u

typedef struct {
    void (*frame)(const mf_frame_result_t *result, void *context);
    void (*event)(const mf_event_t *event, void *context);
    void *context;
} mf_pipeline_sink_t;

/* A new stream: samples, frames, detectors and every model's state start again. */
void mf_pipeline_reset(void);

/* Samples still needed before the next frame is computed (at least 1). */
uint32_t mf_pipeline_samples_to_frame(void);

/* Appends n sample groups (n * channels values, n <= mf_pipeline_samples_to_frame()); computes
 * the frame they complete. Returns 1 when a frame was computed, 0 when none was due, or a
 * negative model status when an invocation failed. */
int mf_pipeline_feed(const int16_t *samples, uint32_t n, const mf_pipeline_sink_t *sink);

/* Appends any number of sample groups, computing every frame they complete; returns the number
 * of frames or a negative model status. For sources without flow control (a microphone). */
int32_t mf_pipeline_push(const int16_t *samples, uint32_t n, const mf_pipeline_sink_t *sink);

uint32_t mf_pipeline_samples(void);
uint32_t mf_pipeline_frames(void);

#endif
