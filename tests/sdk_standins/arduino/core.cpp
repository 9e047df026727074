// Stand-in for the Arduino core (tests only): Serial prints through the C library, main()
// calls setup() once and loop() once.
#include <stdio.h>

#include "Arduino.h"

StandinSerial Serial;

unsigned long millis(void) {
    return 0;
}

void StandinSerial::begin(unsigned long) {
}

void StandinSerial::println(const char *line) {
    puts(line);
}

int main(void) {
    setup();
    loop();
    return 0;
}
