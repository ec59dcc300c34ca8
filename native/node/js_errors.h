// JavaScript errors for the N-API glue (binding.cc, cuda_binding.cc): TypeError for a wrong kind of
// value, RangeError for a wrong size or value, each with the `code` and `argument` properties the
// core's ipo_error carries, so callers can branch on them whichever layer found the problem.
#ifndef IPO_NODE_JS_ERRORS_H
#define IPO_NODE_JS_ERRORS_H

#include <napi.h>

#include <string>

#include "ipo.h"

namespace ipo_node {

inline Napi::Error with_argument(Napi::Env env, Napi::Error error, const char* code, const std::string& argument) {
  error.Set("code", Napi::String::New(env, code));
  if (!argument.empty()) error.Set("argument", Napi::String::New(env, argument));
  return error;
}

// Messages start with the argument's name ("labels must be...", "options.beta must be..."): the
// two-argument forms take it from there.
inline std::string argument_of(const std::string& message) {
  std::string first = message.substr(0, message.find_first_of(" .[", message.rfind("options.", 0) == 0 ? 8 : 0));
  return first.rfind("options.", 0) == 0 ? first.substr(8) : first;
}

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& argument, const std::string& message) {
  throw with_argument(env, Napi::TypeError::New(env, message), "IPO_ERR_TYPE", argument);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& argument, const std::string& message) {
  throw with_argument(env, Napi::RangeError::New(env, message), "IPO_ERR_RANGE", argument);
}
[[noreturn]] inline void throw_type(Napi::Env env, const std::string& message) { throw_type(env, argument_of(message), message); }
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& message) { throw_range(env, argument_of(message), message); }

// The core's ipo_error as a JavaScript error (TypeError, RangeError or Error) with code, argument,
// and the first offending sequence and position where the core reported them.
inline Napi::Error to_js_error(Napi::Env env, const ipo_error& e) {
  static const char* codes[] = {"IPO_OK", "IPO_ERR_TYPE", "IPO_ERR_RANGE", "IPO_ERR_NONFINITE", "IPO_ERR_RUNTIME", "IPO_ERR_UNAVAILABLE"};
  Napi::Error error = e.status == IPO_ERR_TYPE ? Napi::TypeError::New(env, e.message)
                      : (e.status == IPO_ERR_RANGE || e.status == IPO_ERR_NONFINITE) ? Napi::RangeError::New(env, e.message)
                                                                                      : Napi::Error::New(env, e.message);
  with_argument(env, error, e.status >= 0 && e.status <= 5 ? codes[e.status] : "IPO_ERR_RUNTIME", e.argument);
  if (e.sequence >= 0) error.Set("sequence", Napi::Number::New(env, (double)e.sequence));
  if (e.position >= 0) error.Set("position", Napi::Number::New(env, (double)e.position));
  return error;
}

inline void check(Napi::Env env, int32_t status, const ipo_error& e) {
  if (status != IPO_OK) throw to_js_error(env, e);
}

}  // namespace ipo_node

#endif
