// Vector row kernels written once over a small traits type V and instantiated per instruction set.
// Included only by row_kernels_avx2.cc / row_kernels_avx512.cc, after their `#pragma GCC target`, inside
// an anonymous namespace, so every function here has internal linkage and the ISA of its TU.
//
// V provides: reg, W (lanes), set1, zero, add, sub, mul, fmadd (a * b + c), max, exp (with exp(x) = 0 for x < ln(FLT_MIN)),
// hsum, hmax, load<dtype>(ptr), store<dtype>(ptr, reg), stream<dtype>(ptr, reg) (aligned to kStreamAlign).

constexpr int64_t kBlock = 2048;  // elements per online-softmax block: 8 KB of float32, stays in L1

template <class V, int D>
struct Elem;
template <class V>
struct Elem<V, 0> { using T = float; };
template <class V>
struct Elem<V, 1> { using T = uint16_t; };
template <class V>
struct Elem<V, 2> { using T = uint16_t; };

template <class V, int D>
double row_lse(const void* row_v, int64_t n, bool* finite) {
  using T = typename Elem<V, D>::T;
  const T* row = static_cast<const T*>(row_v);
  constexpr int64_t W = V::W;
  double running_max = -__builtin_inf();
  double sum = 0;
  bool ok = true;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = n - b0 < kBlock ? n - b0 : kBlock;
    const T* x = row + b0;
    // Pass a: block max, and x * 0 summed (one FMA): 0 for finite x, NaN as soon as one element is NaN or inf.
    typename V::reg vmax = V::set1(-__builtin_inff()), vbad = V::zero(), vzero = V::zero();
    int64_t i = 0;
    for (; i + W <= len; i += W) {
      const typename V::reg v = V::template load<D>(x + i);
      vmax = V::max(vmax, v);
      vbad = V::fmadd(v, vzero, vbad);
    }
    float bmax = V::hmax(vmax), bad = V::hsum(vbad);
    for (; i < len; ++i) {
      const float v = ipo::load_scalar(x, D, i);
      bmax = v > bmax ? v : bmax;
      bad += v * 0.0f;
    }
    if (bad != bad || bmax != bmax) {
      ok = false;
      break;
    }
    if ((double)bmax > running_max) {
      sum *= __builtin_exp(running_max - (double)bmax);
      running_max = bmax;
    }
    // Pass b, from L1: sum of exp(x - running_max), two accumulators for latency.
    const typename V::reg vm = V::set1((float)running_max);
    typename V::reg s0 = V::zero(), s1 = V::zero();
    i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
      s0 = V::add(s0, V::exp(V::sub(V::template load<D>(x + i), vm)));
      s1 = V::add(s1, V::exp(V::sub(V::template load<D>(x + i + W), vm)));
    }
    for (; i + W <= len; i += W) s0 = V::add(s0, V::exp(V::sub(V::template load<D>(x + i), vm)));
    float bsum = V::hsum(V::add(s0, s1));
    for (; i < len; ++i) bsum += __builtin_expf(ipo::load_scalar(x, D, i) - (float)running_max);
    sum += (double)bsum;
  }
  *finite = ok;
  if (!ok) return __builtin_nan("");
  return running_max + __builtin_log(sum);
}

template <class V, int D>
void row_grad(const void* row_v, void* out_v, int64_t n, float lse, float neg_coef, bool stream) {
  using T = typename Elem<V, D>::T;
  const T* x = static_cast<const T*>(row_v);
  T* out = static_cast<T*>(out_v);
  constexpr int64_t W = V::W;
  const typename V::reg vl = V::set1(lse), vc = V::set1(neg_coef);
  int64_t i = 0;
  if (stream) {
    // Scalar head up to the store alignment, then aligned non-temporal stores.
    while (i < n && (reinterpret_cast<uintptr_t>(out + i) % V::template kStreamAlign<D>) != 0) {
      ipo::store_scalar(out, D, i, neg_coef * __builtin_expf(ipo::load_scalar(x, D, i) - lse));
      ++i;
    }
    for (; i + W <= n; i += W)
      V::template stream<D>(out + i, V::mul(vc, V::exp(V::sub(V::template load<D>(x + i), vl))));
  } else {
    for (; i + W <= n; i += W)
      V::template store<D>(out + i, V::mul(vc, V::exp(V::sub(V::template load<D>(x + i), vl))));
  }
  for (; i < n; ++i) ipo::store_scalar(out, D, i, neg_coef * __builtin_expf(ipo::load_scalar(x, D, i) - lse));
}

template <class V>
void zero_bytes(void* out_v, size_t bytes, bool stream) {
  char* out = static_cast<char*>(out_v);
  if (!stream) {
    __builtin_memset(out, 0, bytes);
    return;
  }
  // Scalar head to the vector alignment, full-width non-temporal stores, scalar tail.
  const size_t head = (V::kZeroBytes - (reinterpret_cast<uintptr_t>(out) % V::kZeroBytes)) % V::kZeroBytes;
  if (head >= bytes) {
    __builtin_memset(out, 0, bytes);
    return;
  }
  __builtin_memset(out, 0, head);
  size_t i = head;
  for (; i + V::kZeroBytes <= bytes; i += V::kZeroBytes) V::stream_zero(out + i);
  __builtin_memset(out + i, 0, bytes - i);
}

template <class V>
const ipo::RowKernels& make_kernels(const char* name) {
  static const ipo::RowKernels k = {
      name,
      {&row_lse<V, 0>, &row_lse<V, 1>, &row_lse<V, 2>},
      {&row_grad<V, 0>, &row_grad<V, 1>, &row_grad<V, 2>},
      &zero_bytes<V>,
  };
  return k;
}
