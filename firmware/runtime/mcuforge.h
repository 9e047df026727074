/* mcuforge runtime: the interface between generated models and the code that runs them.
 *
 * Each compiled model is a C file whose symbols carry the model's name as a prefix, so several
 * models link into one program. For a model named `kws` (see kws.h):
 *
 *     memcpy(kws_input(0)->data, features, kws_input(0)->bytes);
 *     if (kws_invoke() == 0) use(kws_output(0)->data);
 *
 * Inputs, outputs and intermediate tensors live in a static arena whose layout was fixed at compile
 * time; state that streaming models keep between invocations lives in a separate state region,
 * set to its initial value before the first invocation and by kws_reset(). Nothing is allocated
 * at run time. One invocation at a time per model; different models are independent unless they
 * were built to share one arena (then they must not run concurrently).
 */
#ifndef MCUFORGE_H
#define MCUFORGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCUFORGE_MAX_DIMS 6

/* Element types use TFLite's TensorType codes. */
enum {
    MCUFORGE_FLOAT32 = 0,
    MCUFORGE_INT32 = 2,
    MCUFORGE_UINT8 = 3,
    MCUFORGE_INT16 = 7,
    MCUFORGE_INT8 = 9,
    MCUFORGE_UINT32 = 15,
};

typedef struct {
    void *data;
    uint32_t bytes;
    uint8_t dtype;
    uint8_t ndim;
    int32_t dims[MCUFORGE_MAX_DIMS];
    float scale;
    int32_t zero_point;
} mcuforge_tensor_t;

/* Everything a generic runner (the protocol server, a pipeline) needs to know about one model. */
typedef struct {
    const char *name;
    const uint8_t *sha256; /* 32 bytes: SHA-256 of the .tflite file it was compiled from */
    int (*invoke)(void);
    void (*reset)(void);
    const mcuforge_tensor_t *inputs;
    uint32_t num_inputs;
    const mcuforge_tensor_t *outputs;
    uint32_t num_outputs;
    /* Debug builds (mcuforge test --layers) expose every tensor the graph computes. */
    const mcuforge_tensor_t *debug_tensors;
    uint32_t num_debug_tensors;
    uint32_t num_steps;
    uint32_t arena_bytes;
    uint32_t state_bytes;
} mcuforge_model_t;

/* The models linked into a firmware image, in build order (generated mcuforge_models.c). */
extern const mcuforge_model_t *const mcuforge_models[];
extern const uint32_t mcuforge_num_models;

/* Called after each step with its index when the build defines MCUFORGE_PROFILE; the firmware
 * records the instruction counter there. */
void mcuforge_step_hook(uint32_t step);

#ifdef __cplusplus
}
#endif

#endif
