/*
 * ipo.h: the C ABI of the ipo-node core.
 *
 * Plain functions over pointers, sizes and a status code, so the core is testable from C++ (under
 * sanitizers), callable from Python ctypes, and wrapped by a thin N-API layer (native/node/). Nothing
 * here knows about DPO datasets: only arrays.
 *
 * Layout (TRL's concatenated batch): logits are row-major [sequences, seq_len, vocab]; labels are
 * [sequences, seq_len] and hold the token id that logits row (s, t) scores, or IPO_IGNORE_INDEX
 * where (s, t) is not scored. For the DPO loss, sequences = 2 * pairs: 0..pairs-1 are the chosen
 * sequences, pairs..2*pairs-1 the rejected ones, chosen i pairs with rejected i.
 *
 * Every function validates all of its arguments before it reads any array and reports the first
 * problem in `err` (status, the argument's name, a message); it never aborts the process.
 */
#ifndef IPO_H
#define IPO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define IPO_API __declspec(dllexport)
#else
#define IPO_API __attribute__((visibility("default")))
#endif

#define IPO_IGNORE_INDEX (-100)

typedef enum ipo_dtype {
  IPO_DTYPE_F32 = 0,
  IPO_DTYPE_BF16 = 1, /* uint16 bit patterns */
  IPO_DTYPE_F16 = 2   /* uint16 bit patterns, IEEE binary16 */
} ipo_dtype;

typedef enum ipo_loss_type {
  IPO_LOSS_SIGMOID = 0, /* -(1-eps) log sig(h) - eps log sig(-h) */
  IPO_LOSS_ROBUST = 1,  /* (-(1-eps) log sig(h) + eps log sig(-h)) / (1 - 2 eps) */
  IPO_LOSS_HINGE = 2,   /* max(0, 1 - h) */
  IPO_LOSS_IPO = 3      /* (s_c/n_c - s_r/n_r - 1/(2 beta))^2 */
} ipo_loss_type;

typedef enum ipo_status {
  IPO_OK = 0,
  IPO_ERR_TYPE = 1,        /* wrong kind of argument (null pointer, unknown dtype/enum): a TypeError in JS */
  IPO_ERR_RANGE = 2,       /* a size or value outside its range: a RangeError in JS */
  IPO_ERR_NONFINITE = 3,   /* NaN or infinity in a scored logits row: a RangeError in JS */
  IPO_ERR_RUNTIME = 4,     /* allocation or device failure: an Error in JS */
  IPO_ERR_UNAVAILABLE = 5  /* backend not present (e.g. no CUDA device) */
} ipo_status;

typedef struct ipo_error {
  int32_t status;      /* an ipo_status */
  char argument[32];   /* the argument at fault, e.g. "labels", "beta"; "" when none */
  char message[256];   /* human-readable, names the argument and the first bad index */
  int64_t sequence;    /* for IPO_ERR_NONFINITE and label errors: the first bad sequence, else -1 */
  int64_t position;    /* ...and position within it, else -1 */
} ipo_error;

typedef struct ipo_logits {
  const void* data;       /* [sequences, seq_len, vocab] of dtype */
  int32_t dtype;          /* an ipo_dtype */
  int64_t sequences;
  int64_t seq_len;
  int64_t vocab;
  const int32_t* labels;  /* [sequences, seq_len] */
} ipo_logits;

typedef struct ipo_dpo_options {
  double beta;            /* > 0 */
  int32_t loss_type;      /* an ipo_loss_type */
  double label_smoothing; /* [0, 0.5) */
  double sft_weight;      /* >= 0: adds sft_weight * mean NLL over all scored chosen tokens */
  int32_t threads;        /* <= 0: all cores */
} ipo_dpo_options;

typedef struct ipo_dpo_outputs {
  /* Written by ipo_dpo_loss. */
  double loss;
  double accuracy;
  /* Caller-allocated, [pairs] each; NULL to skip. */
  float* chosen_logps;
  float* rejected_logps;
  float* chosen_rewards;
  float* rejected_rewards;
  float* margins;
  /* d loss / d logits, same dtype and shape as the logits; NULL: no gradient. May equal logits.data
   * (in place): each row is read fully before it is written. Rows not scored are written as 0 unless
   * grad_is_zeroed says the caller already zeroed the buffer (a fresh calloc'd allocation), in which
   * case they are never touched, so their cost is nothing. */
  void* grad;
  int32_t grad_is_zeroed;
} ipo_dpo_outputs;

/* log p(label | row) per position, 0 where not scored. out: [sequences * seq_len]. */
IPO_API int32_t ipo_token_logprobs(const ipo_logits* in, float* out, int32_t threads, ipo_error* err);

/* Summed log-probs of the scored tokens per sequence (the reference-model pass). out: [sequences]. */
IPO_API int32_t ipo_sequence_logprobs(const ipo_logits* in, float* out, int32_t threads, ipo_error* err);

/* The fused segment-masked DPO loss, its statistics, and optionally its gradient over the logits.
 * ref_logps: [sequences], the reference model's summed log-probs in the same order. */
IPO_API int32_t ipo_dpo_loss(const ipo_logits* in, const float* ref_logps, const ipo_dpo_options* options,
                             ipo_dpo_outputs* out, ipo_error* err);

/* Gradient buffers recycled across calls: the memory the Node binding's grad 'buffer' mode returns.
 * A buffer from ipo_grad_buffer_acquire passed as ipo_dpo_outputs.grad (not in place) is cleared by the
 * call the cheapest correct way, whatever it held (native/cpu/grad_pool.h): its unscored rows read as
 * zero afterwards and grad_is_zeroed is ignored. Its contents on acquire are unspecified.
 * acquire returns NULL when the cache is off (IPO_GRAD_CACHE=0), at its limit of live buffers, on a
 * system other than Linux, or out of memory; release ignores pointers it did not hand out;
 * trim unmaps the idle buffers and returns the bytes released. Thread-safe. */
IPO_API void* ipo_grad_buffer_acquire(size_t bytes);
IPO_API void ipo_grad_buffer_release(void* buffer);
IPO_API size_t ipo_grad_cache_trim(void);
typedef struct ipo_grad_cache_stats {
  uint64_t hits;         /* acquires served by an idle buffer */
  uint64_t misses;       /* acquires served by a new mapping */
  uint64_t refused;      /* acquires that returned NULL while the cache was on */
  uint64_t idle_buffers, idle_bytes, live_buffers, live_bytes;
} ipo_grad_cache_stats;
IPO_API void ipo_grad_cache_get_stats(ipo_grad_cache_stats* out);

IPO_API const char* ipo_version(void);
/* The vector instruction set the CPU kernels dispatched to on this machine: "avx512", "avx2", "neon", "scalar". */
IPO_API const char* ipo_cpu_simd(void);
IPO_API int32_t ipo_cpu_threads(void);
/* Forces the CPU kernels to "scalar", "avx2", "avx512" or "neon" (for tests and benchmarks), or "auto".
 * Process-wide. Fails with IPO_ERR_UNAVAILABLE if this CPU lacks the instruction set. */
IPO_API int32_t ipo_cpu_select_simd(const char* name, ipo_error* err);

#ifdef __cplusplus
}
#endif

#endif /* IPO_H */
