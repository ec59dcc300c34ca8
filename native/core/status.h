// Filling an ipo_error: every validation failure names its argument and, where it applies, the
// first offending sequence and position, so a training loop can point at the bad example.
#ifndef IPO_CORE_STATUS_H
#define IPO_CORE_STATUS_H

#include "ipo.h"

namespace ipo {

// Writes status/argument/message into err (if non-null) and returns status.
int32_t fail(ipo_error* err, int32_t status, const char* argument, const char* format, ...)
    __attribute__((format(printf, 4, 5)));

// Same, with the offending (sequence, position).
int32_t fail_at(ipo_error* err, int32_t status, const char* argument, int64_t sequence, int64_t position,
                const char* format, ...) __attribute__((format(printf, 6, 7)));

inline int32_t ok(ipo_error* err) {
  if (err) {
    err->status = IPO_OK;
    err->argument[0] = '\0';
    err->message[0] = '\0';
    err->sequence = -1;
    err->position = -1;
  }
  return IPO_OK;
}

}  // namespace ipo

#endif
