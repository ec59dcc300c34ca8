// Device queries, versions and memory helpers of the CUDA C ABI (ipo_cuda.h). Every function is a
// thin checked wrapper: nothing runs at load time, and a machine with no driver or GPU gets
// IPO_ERR_UNAVAILABLE with the reason instead of a crash.
#include <cstdio>
#include <cstring>

#include "cuda/host_helpers.cuh"

using ipo_cuda::fail_cuda;

namespace {

cudaMemcpyKind copy_kind(int32_t kind) {
  switch (kind) {
    case IPO_CUDA_HOST_TO_DEVICE: return cudaMemcpyHostToDevice;
    case IPO_CUDA_DEVICE_TO_HOST: return cudaMemcpyDeviceToHost;
    default: return cudaMemcpyDeviceToDevice;
  }
}

}  // namespace

extern "C" int32_t ipo_cuda_device_count(int32_t* count, ipo_error* err) {
  if (!count) return ipo::fail(err, IPO_ERR_TYPE, "count", "count must not be null");
  *count = 0;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaGetDeviceCount");
  if (n == 0) return ipo::fail(err, IPO_ERR_UNAVAILABLE, "", "no CUDA device is present");
  *count = n;
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_device_info_get(int32_t device, ipo_cuda_device_info* info, ipo_error* err) {
  if (!info) return ipo::fail(err, IPO_ERR_TYPE, "info", "info must not be null");
  int32_t n = 0;
  if (int32_t s = ipo_cuda_device_count(&n, err)) return s;
  if (device < 0 || device >= n)
    return ipo::fail(err, IPO_ERR_RANGE, "device", "device must be in [0, %d) (got %d)", n, device);
  cudaDeviceProp p{};
  const cudaError_t e = cudaGetDeviceProperties(&p, device);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaGetDeviceProperties");
  std::memset(info, 0, sizeof(*info));
  info->ordinal = device;
  std::snprintf(info->name, sizeof(info->name), "%s", p.name);
  info->major = p.major;
  info->minor = p.minor;
  info->multiprocessors = p.multiProcessorCount;
  info->total_memory_bytes = (int64_t)p.totalGlobalMem;
  info->l2_cache_bytes = (int64_t)p.l2CacheSize;
  info->shared_memory_per_block_optin = (int64_t)p.sharedMemPerBlockOptin;
  info->memory_bus_width_bits = p.memoryBusWidth;
  info->pci_bus_id = p.pciBusID;
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_versions(int32_t* runtime_version, int32_t* driver_version, ipo_error* err) {
  if (!runtime_version || !driver_version)
    return ipo::fail(err, IPO_ERR_TYPE, runtime_version ? "driverVersion" : "runtimeVersion", "version pointers must not be null");
  int rt = 0, drv = 0;
  if (cudaRuntimeGetVersion(&rt) != cudaSuccess) rt = CUDART_VERSION;
  if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;  // 0: no driver installed
  cudaGetLastError();
  *runtime_version = rt;
  *driver_version = drv;
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_malloc(int32_t device, size_t bytes, int32_t zeroed, void** ptr, ipo_error* err) {
  if (!ptr) return ipo::fail(err, IPO_ERR_TYPE, "ptr", "ptr must not be null");
  *ptr = nullptr;
  if (bytes == 0) return ipo::fail(err, IPO_ERR_RANGE, "bytes", "bytes must be > 0");
  int32_t n = 0;
  if (int32_t s = ipo_cuda_device_count(&n, err)) return s;
  if (device < 0 || device >= n)
    return ipo::fail(err, IPO_ERR_RANGE, "device", "device must be in [0, %d) (got %d)", n, device);
  ipo_cuda::DeviceScope scope;
  if (int32_t s = scope.enter(device, err)) return s;
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaMalloc");
  if (zeroed) {
    e = cudaMemset(p, 0, bytes);
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
      cudaFree(p);
      return fail_cuda(err, e, "cudaMemset");
    }
  }
  *ptr = p;
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_free(void* ptr, ipo_error* err) {
  if (!ptr) return ipo::ok(err);
  int device = -1;
  if (int32_t s = ipo_cuda::device_of(ptr, "ptr", 1, &device, err)) return s;
  ipo_cuda::DeviceScope scope;
  if (int32_t s = scope.enter(device, err)) return s;
  const cudaError_t e = cudaFree(ptr);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaFree");
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_memcpy(void* dst, const void* src, size_t bytes, int32_t kind, void* stream, ipo_error* err) {
  if (kind != IPO_CUDA_HOST_TO_DEVICE && kind != IPO_CUDA_DEVICE_TO_HOST && kind != IPO_CUDA_DEVICE_TO_DEVICE)
    return ipo::fail(err, IPO_ERR_TYPE, "kind", "kind must be 1 (host to device), 2 (device to host) or 3 (device to device)");
  if (bytes == 0) return ipo::ok(err);
  if (!dst) return ipo::fail(err, IPO_ERR_TYPE, "dst", "dst must not be null");
  if (!src) return ipo::fail(err, IPO_ERR_TYPE, "src", "src must not be null");
  // The device side(s) must really be device memory: a wrong pointer is reported, not dereferenced.
  int device = -1, other = -1;
  if (kind != IPO_CUDA_HOST_TO_DEVICE) {
    if (int32_t s = ipo_cuda::device_of(src, "src", 1, &device, err)) return s;
  }
  if (kind != IPO_CUDA_DEVICE_TO_HOST) {
    if (int32_t s = ipo_cuda::device_of(dst, "dst", 1, &other, err)) return s;
    if (device < 0) device = other;
  }
  ipo_cuda::DeviceScope scope;
  if (int32_t s = scope.enter(device, err)) return s;
  cudaError_t e;
  if (stream) {
    e = cudaMemcpyAsync(dst, src, bytes, copy_kind(kind), static_cast<cudaStream_t>(stream));
  } else {
    e = cudaMemcpy(dst, src, bytes, copy_kind(kind));
  }
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaMemcpy");
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_memset_zero(void* ptr, size_t bytes, void* stream, ipo_error* err) {
  if (bytes == 0) return ipo::ok(err);
  int device = -1;
  if (int32_t s = ipo_cuda::device_of(ptr, "ptr", 1, &device, err)) return s;
  ipo_cuda::DeviceScope scope;
  if (int32_t s = scope.enter(device, err)) return s;
  cudaError_t e = cudaMemsetAsync(ptr, 0, bytes, static_cast<cudaStream_t>(stream));
  if (e == cudaSuccess && !stream) e = cudaStreamSynchronize(nullptr);
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaMemset");
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_pointer_device(const void* ptr, int32_t* device, ipo_error* err) {
  if (!device) return ipo::fail(err, IPO_ERR_TYPE, "device", "device must not be null");
  *device = -1;
  if (!ptr) return ipo::fail(err, IPO_ERR_TYPE, "ptr", "ptr must not be null");
  int d = -1;
  if (int32_t s = ipo_cuda::device_of(ptr, "ptr", 1, &d, err)) return s;
  *device = d;
  return ipo::ok(err);
}

extern "C" int32_t ipo_cuda_stream_synchronize_device(int32_t device, void* stream, ipo_error* err) {
  if (device < 0) return ipo_cuda_stream_synchronize(stream, err);
  int32_t n = 0;
  if (int32_t s = ipo_cuda_device_count(&n, err)) return s;
  if (device >= n) return ipo::fail(err, IPO_ERR_RANGE, "device", "device must be in [0, %d) (got %d)", n, device);
  // The legacy default stream (NULL) and the per-thread one are per device: wait on `device`'s.
  ipo_cuda::DeviceScope scope;
  if (int32_t s = scope.enter(device, err)) return s;
  return ipo_cuda_stream_synchronize(stream, err);
}

extern "C" int32_t ipo_cuda_stream_synchronize(void* stream, ipo_error* err) {
  const cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  if (e != cudaSuccess) return fail_cuda(err, e, "cudaStreamSynchronize");
  return ipo::ok(err);
}
