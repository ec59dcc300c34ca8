// Host-side helpers of the CUDA path: turning cudaError_t into an ipo_error, checking that a
// pointer is device memory of the right device, selecting that device for the duration of a call,
// stream-ordered scratch memory, and the launch geometry.
#ifndef IPO_CUDA_HOST_HELPERS_CUH
#define IPO_CUDA_HOST_HELPERS_CUH

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/validate.h"
#include "ipo.h"
#include "ipo_cuda.h"

namespace ipo_cuda {

// IPO_ERR_UNAVAILABLE for "no driver / no device", IPO_ERR_RUNTIME otherwise; `what` names the step.
int32_t fail_cuda(ipo_error* err, cudaError_t code, const char* what);

// Where a pointer lives, as far as this path cares. Managed memory is reachable from both sides.
enum class Memory { Host, Device, Managed };

// Checks that `ptr` is device (or managed) memory, aligned to `align` bytes, and reports its device.
int32_t device_of(const void* ptr, const char* argument, size_t align, int* device, ipo_error* err);
// Checks that `ptr` is memory the host may read and write (pageable, pinned or managed); null passes
// (the caller decides whether null is allowed). A device pointer is refused, not dereferenced.
// Without a driver no device memory can exist, but the answer cannot be had either: the check then
// fails with IPO_ERR_UNAVAILABLE (as every other call does), so nothing is touched.
int32_t host_memory(const void* ptr, const char* argument, ipo_error* err);
// Host, device or managed; for device and managed memory also its device.
int32_t classify(const void* ptr, const char* argument, Memory* kind, int* device, ipo_error* err);

// The checks of a gradient buffer that need no device (pure address arithmetic), run before any CUDA
// call: the buffer is the logits (in place) or does not overlap them at all, and grad_is_zeroed is
// not claimed for the logits themselves.
int32_t check_grad_buffer(const ipo_logits* in, const ipo::Shape& shape, const ipo_dpo_outputs* out, ipo_error* err);

// Makes `device` current and restores the previous one when it goes out of scope.
class DeviceScope {
 public:
  DeviceScope() = default;
  ~DeviceScope();
  int32_t enter(int device, ipo_error* err);
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

// One stream-ordered allocation carved into 256-byte-aligned pieces. Memory comes from a private
// memory pool per device (kept cached between calls; the device's default pool is left alone),
// and is released in stream order, so a kernel still running on `stream` keeps its scratch.
class Scratch {
 public:
  explicit Scratch(cudaStream_t stream) : stream_(stream) {}
  ~Scratch();
  // Reserve `bytes` before allocate(); returns the offset of the piece.
  size_t reserve(size_t bytes);
  int32_t allocate(int device, ipo_error* err);
  template <typename T>
  T* at(size_t offset) const { return reinterpret_cast<T*>(base_ + offset); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

 private:
  cudaStream_t stream_;
  size_t total_ = 0;
  char* base_ = nullptr;
  bool pooled_ = false;
};

// The number of multiprocessors of a device (cached).
int multiprocessors(int device);

// Splits per row so that a launch over `rows` rows fills the device even when rows are few: every
// split still gets at least `min_units_per_split` access units.
int splits_for(int64_t rows, int64_t units_per_row, int device, int64_t min_units_per_split);

// Everything the operations share once their arguments are checked: the shape, the device that
// owns the logits, whether 16-byte vector access is possible, the labels on the host (for the
// shared validation in native/core) and on the device (for the kernels), and the scored rows.
struct Call {
  ipo::Shape shape;
  int device = -1;
  bool vector_ok = false;
  std::vector<int32_t> labels_host;
  const int32_t* labels_device = nullptr;  // in->labels when it is device memory, else scratch
  bool labels_need_upload = false;
  ipo::ScoredRows scored;
};

// Validates the input (shared checks of native/core, plus: logits on a device, aligned), selects
// the device, brings the labels to the host and checks them. Leaves `scope` on the logits' device.
int32_t prepare_call(const ipo_logits* in, cudaStream_t stream, DeviceScope* scope, Call* call, ipo_error* err);

// 16-byte access works when the row length in bytes and every base pointer are multiples of 16.
bool vector_access_ok(const ipo::Shape& shape, const void* a, const void* b);

// Checks the last launch error.
int32_t check_launch(ipo_error* err, const char* kernel);

}  // namespace ipo_cuda

#endif
