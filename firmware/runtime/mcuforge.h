/* mcuforge runtime: the interface between a generated model and the code that runs it.
 *
 * A generated model.c defines the tensor tables and mcuforge_invoke(); inputs and outputs live in
 * a static arena whose layout was fixed at compile time, so nothing is allocated at run time.
 * Typical use on a device:
 *
 *     memcpy(mcuforge_inputs[0].data, features, mcuforge_inputs[0].bytes);
 *     if (mcuforge_invoke() == 0) use(mcuforge_outputs[0].data);
 */
#ifndef MCUFORGE_H
#define MCUFORGE_H

#include <stdint.h>

#define MCUFORGE_MAX_DIMS 6

/* Element types use TFLite's TensorType codes. */
enum {
    MCUFORGE_FLOAT32 = 0,
    MCUFORGE_INT32 = 2,
    MCUFORGE_UINT8 = 3,
    MCUFORGE_INT16 = 7,
    MCUFORGE_INT8 = 9,
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

extern const mcuforge_tensor_t mcuforge_inputs[];
extern const mcuforge_tensor_t mcuforge_outputs[];
extern const uint32_t mcuforge_num_inputs;
extern const uint32_t mcuforge_num_outputs;
extern const uint32_t mcuforge_arena_bytes;
extern const char mcuforge_model_name[];

/* Debug builds (mcuforge test --layers) expose every tensor the graph computes; release builds
 * have mcuforge_num_debug_tensors == 0. */
extern const mcuforge_tensor_t mcuforge_debug_tensors[];
extern const uint32_t mcuforge_num_debug_tensors;

/* Number of kernel steps; a profiling hook may time each (see mcuforge_step_hook). */
extern const uint32_t mcuforge_num_steps;

/* Runs the whole graph. Returns 0 on success. */
int mcuforge_invoke(void);

/* Called after each step with its index when the build defines MCUFORGE_PROFILE; the firmware
 * records the instruction counter there. */
void mcuforge_step_hook(uint32_t step);

#endif
