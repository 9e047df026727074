#include "platform.h"

void mcuforge_serve(void);

int main(void) {
    platform_init();
    mcuforge_serve();
    return 0;
}
