#include "platform.h"

void mcuforge_serve(void);
void mf_standalone_run(void);

int main(void) {
    platform_init();
#ifdef MF_STANDALONE
    /* A pipeline image that listens to the board's own source and prints text lines
     * (app/pipeline/standalone/): no host protocol. */
    mf_standalone_run();
#else
    mcuforge_serve();
#endif
    return 0;
}
