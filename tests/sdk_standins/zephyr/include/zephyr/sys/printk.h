/* Stand-in for Zephyr's printk (tests only). */
#ifndef STANDIN_ZEPHYR_PRINTK_H
#define STANDIN_ZEPHYR_PRINTK_H
void printk(const char *fmt, ...);
#endif
