// Stand-in for the Arduino core's Arduino.h (tests only): Serial and millis().
#ifndef STANDIN_ARDUINO_H
#define STANDIN_ARDUINO_H

#include <stdint.h>

unsigned long millis(void);

class StandinSerial {
  public:
    void begin(unsigned long baud);
    void println(const char *line);
    explicit operator bool() const { return true; }
};

extern StandinSerial Serial;

void setup(void);
void loop(void);

#endif
