/* Stand-in for Zephyr's printk over the C library (tests only). */
#include <stdarg.h>
#include <stdio.h>

#include <zephyr/sys/printk.h>

void printk(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
}
