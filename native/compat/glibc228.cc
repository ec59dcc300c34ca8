// Linked only into the CUDA prebuilds (CMake option IPO_GLIBC_STUBS), which are built with g++ and
// Debian 12's static libstdc++ but linked against glibc 2.28 stub libraries so that they load on any
// glibc >= 2.28. libstdc++.a refers to two glibc symbols newer than 2.28; these hidden definitions
// satisfy those references inside the library, so the binary never asks the system for them.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>

extern "C" {

// glibc 2.32+: nonzero while the process has a single thread, letting libstdc++ skip atomic
// instructions in reference counts. Zero means "maybe multi-threaded": always the atomic path, which
// is correct everywhere (an addon inside Node always runs beside other threads anyway).
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;

// glibc 2.36+: used by std::random_device. getrandom(2) (glibc 2.25) from the kernel's CSPRNG.
__attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t value = 0;
  for (;;) {
    const ssize_t got = getrandom(&value, sizeof value, 0);
    if (got == (ssize_t)sizeof value) return value;
    if (got < 0 && errno != EINTR) __builtin_trap();  // no entropy source at all: never return a constant
  }
}

}  // extern "C"
