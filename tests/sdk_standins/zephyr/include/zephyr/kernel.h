/* Stand-in for Zephyr's kernel.h (tests only). */
#ifndef STANDIN_ZEPHYR_KERNEL_H
#define STANDIN_ZEPHYR_KERNEL_H
#endif
