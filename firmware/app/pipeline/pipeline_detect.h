/* Smoothing, cutoff and refractory period of a pipeline's detectors, in integer arithmetic:
 * ESPHome micro_wake_word's rule, specified (and checked against) in
 * toolchain/mcuforge/pipeline/detect.py. */
#ifndef MCUFORGE_PIPELINE_DETECT_H
#define MCUFORGE_PIPELINE_DETECT_H

#include <stdint.h>

enum { MF_ROLE_DETECT = 0, MF_ROLE_GATE = 1 };
enum { MF_DETECT_NONE = 0, MF_DETECT_FIRED = 1, MF_DETECT_BLOCKED = 2 };

/* One watched output value of one model (generated, constant). */
typedef struct {
    uint8_t stage;      /* the model stage whose output it watches */
    uint8_t element;    /* which value of the stage's output 0 */
    uint8_t smoothing;  /* K: scores in the ring, 1..255 */
    uint8_t cutoff;     /* score units 0..255 */
    uint16_t refractory; /* frames */
    int8_t gate;        /* index of the gate detector, -1: none */
    uint8_t role;       /* MF_ROLE_DETECT or MF_ROLE_GATE */
    uint8_t *ring;      /* smoothing bytes */
} mf_detector_t;

typedef struct {
    uint32_t sum;
    uint16_t refractory_left;
    uint8_t last;    /* ring index of the newest score */
    uint8_t pending; /* a score arrived that was not checked yet */
} mf_detector_state_t;

typedef struct {
    uint8_t status; /* MF_DETECT_* */
    uint8_t mean;   /* sum / K before the detector rearms */
    uint8_t max;
} mf_detection_t;

void mf_detector_reset(const mf_detector_t *d, mf_detector_state_t *s);
void mf_detector_push(const mf_detector_t *d, mf_detector_state_t *s, uint8_t score);
void mf_detector_tick(const mf_detector_t *d, mf_detector_state_t *s);
int mf_detector_active(const mf_detector_t *d, const mf_detector_state_t *s);
/* Checks a pending score; fills *out and returns its status. A fired detector rearms. */
int mf_detector_check(const mf_detector_t *d, mf_detector_state_t *s, int gate_open,
                      mf_detection_t *out);

#endif
