/*
 * ipo_cuda.h: the C ABI of the CUDA path (present in builds made with -DIPO_WITH_CUDA=ON).
 *
 * The same three operations as ipo.h, on logits that live in GPU memory:
 *   - in->data (the logits) and out->grad are DEVICE pointers (cudaMalloc'd, or a framework's
 *     tensor storage); in->labels may be a device pointer or a host pointer (it is [rows] int32,
 *     small: the host copy is what the shared validation in native/core reads);
 *   - the small results (token/sequence log-probs, ref_logps, the per-pair arrays) are HOST memory;
 *   - `stream` is a cudaStream_t passed as void* (NULL: the legacy default stream). The functions
 *     return once the small results are on the host; the gradient write is enqueued on `stream` and
 *     may still be running on return (call ipo_cuda_stream_synchronize before reading it from
 *     another stream or the host).
 * The kernels run on the device that owns in->data; grad and device labels must be on that device.
 *
 * The CUDA runtime is linked statically and nothing here runs at load time, so the library loads on
 * a machine with no driver or GPU: the first call then returns IPO_ERR_UNAVAILABLE and says why.
 * Errors are reported exactly as in ipo.h (status, argument, message, sequence, position).
 */
#ifndef IPO_CUDA_H
#define IPO_CUDA_H

#include "ipo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ipo_cuda_copy_kind {
  IPO_CUDA_HOST_TO_DEVICE = 1,
  IPO_CUDA_DEVICE_TO_HOST = 2,
  IPO_CUDA_DEVICE_TO_DEVICE = 3
} ipo_cuda_copy_kind;

typedef struct ipo_cuda_device_info {
  int32_t ordinal;
  char name[256];
  int32_t major; /* compute capability */
  int32_t minor;
  int32_t multiprocessors;
  int64_t total_memory_bytes;
  int64_t l2_cache_bytes;
  int64_t shared_memory_per_block_optin; /* the most dynamic shared memory one block may ask for */
  int32_t memory_bus_width_bits;
  int32_t pci_bus_id;
} ipo_cuda_device_info;

/* Number of usable devices. With no driver or no GPU: returns IPO_ERR_UNAVAILABLE, *count = 0, and
 * err->message says which ("CUDA driver not found or too old (...)", "no CUDA device (...)"). */
IPO_API int32_t ipo_cuda_device_count(int32_t* count, ipo_error* err);
IPO_API int32_t ipo_cuda_device_info_get(int32_t device, ipo_cuda_device_info* info, ipo_error* err);
/* CUDA versions as 1000 * major + 10 * minor. runtime: the statically linked runtime (always known);
 * driver: the installed driver's, 0 when there is none (status IPO_OK either way). */
IPO_API int32_t ipo_cuda_versions(int32_t* runtime_version, int32_t* driver_version, ipo_error* err);

/* Device memory. zeroed != 0 fills the allocation with zero bytes before returning. */
IPO_API int32_t ipo_cuda_malloc(int32_t device, size_t bytes, int32_t zeroed, void** ptr, ipo_error* err);
IPO_API int32_t ipo_cuda_free(void* ptr, ipo_error* err);
/* kind: an ipo_cuda_copy_kind. Synchronous with respect to the host when stream is NULL; otherwise
 * enqueued on stream (host memory must then stay valid until the stream reaches it). */
IPO_API int32_t ipo_cuda_memcpy(void* dst, const void* src, size_t bytes, int32_t kind, void* stream, ipo_error* err);
IPO_API int32_t ipo_cuda_memset_zero(void* ptr, size_t bytes, void* stream, ipo_error* err);
/* Waits for `stream` on the current device (NULL: the current device's legacy default stream). */
IPO_API int32_t ipo_cuda_stream_synchronize(void* stream, ipo_error* err);
/* Waits for `stream` with `device` made current for the call (and restored): what to call after an
 * operation on logits of `device`, since the legacy default stream (NULL) is one per device.
 * device < 0: the current device. */
IPO_API int32_t ipo_cuda_stream_synchronize_device(int32_t device, void* stream, ipo_error* err);
/* The device that owns `ptr`; IPO_ERR_TYPE (argument "ptr") for host memory. */
IPO_API int32_t ipo_cuda_pointer_device(const void* ptr, int32_t* device, ipo_error* err);

/* The operations of ipo.h on device logits (see the conventions above). `out` is host memory: a
 * device pointer there fails with IPO_ERR_TYPE naming "out" (cudaPointerGetAttributes tells them
 * apart; without a driver every call fails with IPO_ERR_UNAVAILABLE before touching any pointer). */
IPO_API int32_t ipo_cuda_token_logprobs(const ipo_logits* in, float* out, void* stream, ipo_error* err);
IPO_API int32_t ipo_cuda_sequence_logprobs(const ipo_logits* in, float* out, void* stream, ipo_error* err);
/* ref_logps and the per-pair arrays of out are host memory (a device pointer fails with IPO_ERR_TYPE
 * naming it: refLogps, chosenLogps, rejectedLogps, chosenRewards, rejectedRewards, margins);
 * out->grad is device memory of the logits' device: either in->data itself (in place) or a buffer
 * that does not overlap the logits (partial overlap: IPO_ERR_TYPE, "grad"). out->grad_is_zeroed
 * says the caller's buffer is all zeros, so unscored rows are not written; it is refused for an
 * in-place gradient (IPO_ERR_TYPE, "gradIsZeroed"). These two checks need no device and come first.
 * options->threads is ignored. */
IPO_API int32_t ipo_cuda_dpo_loss(const ipo_logits* in, const float* ref_logps, const ipo_dpo_options* options,
                                  ipo_dpo_outputs* out, void* stream, ipo_error* err);

#ifdef __cplusplus
}
#endif

#endif /* IPO_CUDA_H */
