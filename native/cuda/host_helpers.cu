#include "cuda/host_helpers.cuh"

#include <algorithm>
#include <mutex>

namespace ipo_cuda {

int32_t fail_cuda(ipo_error* err, cudaError_t code, const char* what) {
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  switch (code) {
    case cudaErrorInsufficientDriver:
      return ipo::fail(err, IPO_ERR_UNAVAILABLE, "", "CUDA driver not found or too old for this build (%s: %s)", what,
                       cudaGetErrorString(code));
    case cudaErrorNoDevice:
      return ipo::fail(err, IPO_ERR_UNAVAILABLE, "", "no CUDA device is present (%s: %s)", what, cudaGetErrorString(code));
    case cudaErrorMemoryAllocation:
      return ipo::fail(err, IPO_ERR_RUNTIME, "", "out of GPU memory (%s)", what);
    default:
      return ipo::fail(err, IPO_ERR_RUNTIME, "", "CUDA error in %s: %s (%d)", what, cudaGetErrorString(code), (int)code);
  }
}

int32_t classify(const void* ptr, const char* argument, Memory* kind, int* device, ipo_error* err) {
  cudaPointerAttributes a{};
  const cudaError_t e = cudaPointerGetAttributes(&a, ptr);
  if (e == cudaErrorInvalidValue) {  // older runtimes: plain host memory
    cudaGetLastError();
    *kind = Memory::Host;
    *device = -1;
    return ipo::ok(err);
  }
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaPointerGetAttributes");
  if (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged) {
    *kind = a.type == cudaMemoryTypeDevice ? Memory::Device : Memory::Managed;
    *device = a.device;
  } else {
    *kind = Memory::Host;
    *device = -1;
  }
  (void)argument;
  return ipo::ok(err);
}

int32_t device_of(const void* ptr, const char* argument, size_t align, int* device, ipo_error* err) {
  Memory kind;
  if (int32_t s = classify(ptr, argument, &kind, device, err)) return s;
  if (kind == Memory::Host)
    return ipo::fail(err, IPO_ERR_TYPE, argument, "%s must be a CUDA device pointer (got host memory)", argument);
  if (reinterpret_cast<uintptr_t>(ptr) % align != 0)
    return ipo::fail(err, IPO_ERR_TYPE, argument, "%s must be aligned to %zu bytes (its element size)", argument, align);
  return ipo::ok(err);
}

int32_t host_memory(const void* ptr, const char* argument, ipo_error* err) {
  if (!ptr) return ipo::ok(err);
  Memory kind;
  int device = -1;
  if (int32_t s = classify(ptr, argument, &kind, &device, err)) return s;
  if (kind == Memory::Device)
    return ipo::fail(err, IPO_ERR_TYPE, argument, "%s must be host memory (got a pointer into CUDA device %d memory)", argument,
                     device);
  return ipo::ok(err);
}

int32_t check_grad_buffer(const ipo_logits* in, const ipo::Shape& shape, const ipo_dpo_outputs* out, ipo_error* err) {
  if (!out || !out->grad) return ipo::ok(err);
  const uintptr_t bytes = (uintptr_t)shape.elements * (uintptr_t)shape.elem_bytes;
  const uintptr_t g = reinterpret_cast<uintptr_t>(out->grad), x = reinterpret_cast<uintptr_t>(in->data);
  if (g == x) {
    if (out->grad_is_zeroed)
      return ipo::fail(err, IPO_ERR_TYPE, "gradIsZeroed",
                       "gradIsZeroed cannot be set for an in-place gradient: the buffer holds the logits, not zeros");
    return ipo::ok(err);
  }
  // [g, g + bytes) and [x, x + bytes) intersect unless one ends before the other begins; the
  // comparisons avoid g + bytes, which could wrap for a bogus address.
  const bool disjoint = g > x ? g - x >= bytes : x - g >= bytes;
  if (!disjoint)
    return ipo::fail(err, IPO_ERR_TYPE, "grad",
                     "grad overlaps the logits without being the same buffer (grad - logits = %lld bytes, buffer %llu bytes): "
                     "pass the logits themselves for an in-place gradient, or a separate buffer",
                     (long long)(g > x ? (long long)(g - x) : -(long long)(x - g)), (unsigned long long)bytes);
  return ipo::ok(err);
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

int32_t DeviceScope::enter(int device, ipo_error* err) {
  int current = 0;
  cudaError_t e = cudaGetDevice(&current);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaGetDevice");
  if (current != device) {
    e = cudaSetDevice(device);
    if (e != cudaSuccess) return fail_cuda(err, e, "cudaSetDevice");
    previous_ = current;
  }
  return ipo::ok(err);
}

namespace {

constexpr int kMaxDevices = 64;
std::mutex g_pool_mutex;
cudaMemPool_t g_pools[kMaxDevices];
bool g_pool_tried[kMaxDevices];
int g_multiprocessors[kMaxDevices];

// A private pool that keeps its memory between calls (release threshold: unlimited), so repeated
// calls do not map and unmap scratch memory. nullptr when the device has no memory pools.
cudaMemPool_t pool_for(int device) {
  if (device < 0 || device >= kMaxDevices) return nullptr;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool_tried[device]) {
    g_pool_tried[device] = true;
    int supported = 0;
    if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess && supported) {
      cudaMemPoolProps props{};
      props.allocType = cudaMemAllocationTypePinned;
      props.location.type = cudaMemLocationTypeDevice;
      props.location.id = device;
      cudaMemPool_t pool = nullptr;
      if (cudaMemPoolCreate(&pool, &props) == cudaSuccess) {
        uint64_t keep = UINT64_MAX;
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
        g_pools[device] = pool;
      }
    }
    cudaGetLastError();
  }
  return g_pools[device];
}

}  // namespace

Scratch::~Scratch() {
  if (!base_) return;
  if (pooled_) {
    cudaFreeAsync(base_, stream_);
  } else {
    cudaStreamSynchronize(stream_);
    cudaFree(base_);
  }
}

size_t Scratch::reserve(size_t bytes) {
  const size_t offset = total_;
  total_ += (bytes + 255) / 256 * 256;
  return offset;
}

int32_t Scratch::allocate(int device, ipo_error* err) {
  if (total_ == 0) total_ = 256;
  void* p = nullptr;
  cudaError_t e;
  if (cudaMemPool_t pool = pool_for(device)) {
    e = cudaMallocFromPoolAsync(&p, total_, pool, stream_);
    pooled_ = true;
  } else {
    e = cudaMalloc(&p, total_);
  }
  if (e != cudaSuccess) return fail_cuda(err, e, "allocating scratch memory");
  base_ = static_cast<char*>(p);
  return ipo::ok(err);
}

int multiprocessors(int device) {
  if (device < 0 || device >= kMaxDevices) return 1;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_multiprocessors[device] == 0) {
    int n = 0;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n <= 0) n = 1;
    g_multiprocessors[device] = n;
  }
  return g_multiprocessors[device];
}

int splits_for(int64_t rows, int64_t units_per_row, int device, int64_t min_units_per_split) {
  // Two waves of 8 blocks per multiprocessor keep the memory system busy.
  const int64_t target = 16LL * multiprocessors(device);
  if (rows <= 0 || rows >= target) return 1;
  int64_t splits = (target + rows - 1) / rows;
  const int64_t max_splits = units_per_row / min_units_per_split;
  if (splits > max_splits) splits = max_splits;
  if (splits < 1) splits = 1;
  if (splits > 1024) splits = 1024;
  return (int)splits;
}

bool vector_access_ok(const ipo::Shape& shape, const void* a, const void* b) {
  if ((shape.vocab * shape.elem_bytes) % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(a) % 16 != 0) return false;
  if (b && reinterpret_cast<uintptr_t>(b) % 16 != 0) return false;
  return true;
}

int32_t check_launch(ipo_error* err, const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return fail_cuda(err, e, kernel);
  return ipo::ok(err);
}

int32_t prepare_call(const ipo_logits* in, cudaStream_t stream, DeviceScope* scope, Call* call, ipo_error* err) {
  if (int32_t s = ipo::validate_shape(in, &call->shape, err)) return s;
  if (int32_t s = device_of(in->data, "logits", (size_t)call->shape.elem_bytes, &call->device, err)) return s;
  if (int32_t s = scope->enter(call->device, err)) return s;

  Memory label_kind;
  int label_device = -1;
  if (int32_t s = classify(in->labels, "labels", &label_kind, &label_device, err)) return s;
  if (reinterpret_cast<uintptr_t>(in->labels) % 4 != 0)
    return ipo::fail(err, IPO_ERR_TYPE, "labels", "labels must be aligned to 4 bytes (int32)");
  call->labels_host.resize((size_t)call->shape.rows);
  if (label_kind == Memory::Device) {
    if (label_device != call->device)
      return ipo::fail(err, IPO_ERR_TYPE, "labels", "labels are on CUDA device %d but the logits are on device %d",
                       label_device, call->device);
    const cudaError_t e = cudaMemcpyAsync(call->labels_host.data(), in->labels, (size_t)call->shape.rows * 4,
                                          cudaMemcpyDeviceToHost, stream);
    if (e != cudaSuccess) return fail_cuda(err, e, "copying labels to the host");
    const cudaError_t e2 = cudaStreamSynchronize(stream);
    if (e2 != cudaSuccess) return fail_cuda(err, e2, "copying labels to the host");
    call->labels_device = in->labels;
    call->labels_need_upload = false;
  } else {
    std::copy(in->labels, in->labels + call->shape.rows, call->labels_host.begin());
    call->labels_need_upload = true;
  }
  ipo_logits host_view = *in;
  host_view.labels = call->labels_host.data();
  if (int32_t s = ipo::collect_scored_rows(&host_view, call->shape, &call->scored, err)) return s;
  call->vector_ok = vector_access_ok(call->shape, in->data, nullptr);
  return ipo::ok(err);
}

}  // namespace ipo_cuda
