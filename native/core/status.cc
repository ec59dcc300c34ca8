#include "core/status.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace ipo {
namespace {

int32_t vfail(ipo_error* err, int32_t status, const char* argument, int64_t sequence, int64_t position,
              const char* format, va_list args) {
  if (!err) return status;
  err->status = status;
  std::snprintf(err->argument, sizeof(err->argument), "%s", argument ? argument : "");
  std::vsnprintf(err->message, sizeof(err->message), format, args);
  err->sequence = sequence;
  err->position = position;
  return status;
}

}  // namespace

int32_t fail(ipo_error* err, int32_t status, const char* argument, const char* format, ...) {
  va_list args;
  va_start(args, format);
  int32_t s = vfail(err, status, argument, -1, -1, format, args);
  va_end(args);
  return s;
}

int32_t fail_at(ipo_error* err, int32_t status, const char* argument, int64_t sequence, int64_t position,
                const char* format, ...) {
  va_list args;
  va_start(args, format);
  int32_t s = vfail(err, status, argument, sequence, position, format, args);
  va_end(args);
  return s;
}

}  // namespace ipo
