// Vector row kernels written once over a small traits type V and instantiated per instruction set.
// Included only by row_kernels_avx2.cc / row_kernels_avx512(bf16).cc (after their `#pragma GCC target`) and row_kernels_neon.cc, inside
// an anonymous namespace, so every function here has internal linkage and the ISA of its TU.
//
// V provides: reg, W (lanes), set1, zero, add, sub, mul, fmadd (a * b + c), max, min,
// exp(x, poly) = poly-scaled exp (poly: the 6 coefficients of 2^f, kExp2Poly times a constant, so a per-row
// factor costs no multiply; exp(x) = 0 for x < ln(FLT_MIN)), exp_term(x) = exp(x) for finite x <= 0 (the
// log-sum-exp's terms: no underflow mask, anything below FLT_MIN may come out as a subnormal or 0) and NaN
// for a NaN x (so the sum doubles as the NaN check), hsum, hmax, load<dtype>(ptr),
// store<dtype>(ptr, reg), stream<dtype>(ptr, reg) (aligned to kStreamAlign), and the pair forms:
// load_pair<dtype>(ptr, a, b) reads 2W consecutive elements into two registers in a lane order of V's
// choosing (bf16: the even and the odd elements, two bit operations and no lane crossing), and
// store_pair<dtype>(ptr, a, b, stream) writes them back in memory order (aligned to kPairAlign when stream).

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
    // Pass a: block max and min: an infinity shows in one of them. A NaN may be lost by max and min (they
    // return their second operand); pass b catches it.
    typename V::reg vmax = V::set1(-__builtin_inff()), vmax1 = vmax, vmin = V::set1(__builtin_inff()), vmin1 = vmin;
    int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
      typename V::reg a, b;
      V::template load_pair<D>(x + i, a, b);
      vmax = V::max(vmax, a);
      vmax1 = V::max(vmax1, b);
      vmin = V::min(vmin, a);
      vmin1 = V::min(vmin1, b);
    }
    for (; i + W <= len; i += W) {
      const typename V::reg v = V::template load<D>(x + i);
      vmax = V::max(vmax, v);
      vmin = V::min(vmin, v);
    }
    float bmax = V::hmax(V::max(vmax, vmax1)), bmin = -V::hmax(V::sub(V::zero(), V::min(vmin, vmin1)));
    for (; i < len; ++i) {
      const float v = ipo::load_scalar(x, D, i);
      bmax = v > bmax ? v : bmax;
      bmin = v < bmin ? v : bmin;
    }
    if (!(bmax < __builtin_inff()) || !(bmin > -__builtin_inff())) {  // +-inf, or a NaN that survived
      ok = false;
      break;
    }
    if ((double)bmax > running_max) {
      sum *= __builtin_exp(running_max - (double)bmax);
      running_max = bmax;
    }
    // Pass b, from L1: sum of exp(x - running_max), two accumulators for latency. exp_term(NaN) is NaN, so
    // the sum is NaN as soon as the block holds a NaN: that check costs nothing per element. Meanwhile the
    // next block is prefetched, line by line at the pace of this loop, so that its pass a (little
    // arithmetic, nothing to overlap a cache miss with) finds it in the cache: about 1.5-2x faster phase 1
    // from memory on one core of the development VM.
    const typename V::reg vm = V::set1((float)running_max);
    typename V::reg s0 = V::zero(), s1 = V::zero();
    i = 0;
    const char* next = reinterpret_cast<const char*>(x + len);
    const int64_t next_bytes = (n - b0 - len < kBlock ? n - b0 - len : kBlock) * (int64_t)sizeof(T);
    for (; i + 2 * W <= len; i += 2 * W) {
      typename V::reg a, b;
      const int64_t at = i * (int64_t)sizeof(T);  // the same offset in the next block, line by line
      if (at < next_bytes)
        for (int64_t line = 0; line < 2 * W * (int64_t)sizeof(T); line += 64) __builtin_prefetch(next + at + line);
      V::template load_pair<D>(x + i, a, b);
      s0 = V::add(s0, V::exp_term(V::sub(a, vm)));
      s1 = V::add(s1, V::exp_term(V::sub(b, vm)));
    }
    for (; i + W <= len; i += W) s0 = V::add(s0, V::exp_term(V::sub(V::template load<D>(x + i), vm)));
    float bsum = V::hsum(V::add(s0, s1));
    for (; i < len; ++i) bsum += __builtin_expf(ipo::load_scalar(x, D, i) - (float)running_max);
    if (bsum != bsum) {
      ok = false;
      break;
    }
    sum += (double)bsum;
  }
  *finite = ok;
  if (!ok) return __builtin_nan("");
  return running_max + __builtin_log(sum);
}

// The vector part of row_grad from element i on; returns where the scalar tail starts. kStream is a template
// parameter so that neither loop tests it per vector.
template <class V, int D, bool kStream, class T>
int64_t grad_vectors(const T* x, T* out, int64_t i, int64_t n, typename V::reg vl, const float* poly) {
  constexpr int64_t W = V::W;
  for (; i + 2 * W <= n; i += 2 * W) {
    typename V::reg a, b;
    V::template load_pair<D>(x + i, a, b);
    V::template store_pair<D>(out + i, V::exp(V::sub(a, vl), poly), V::exp(V::sub(b, vl), poly), kStream);
  }
  for (; i + W <= n; i += W) {
    const typename V::reg g = V::exp(V::sub(V::template load<D>(x + i), vl), poly);
    if constexpr (kStream) V::template stream<D>(out + i, g);
    else V::template store<D>(out + i, g);
  }
  return i;
}

template <class V, int D>
void row_grad(const void* row_v, void* out_v, int64_t n, float lse, float neg_coef, bool stream) {
  using T = typename Elem<V, D>::T;
  const T* x = static_cast<const T*>(row_v);
  T* out = static_cast<T*>(out_v);
  // neg_coef * exp(t) with the factor folded into the polynomial's coefficients: one multiply less per vector.
  float poly[6];
  for (int k = 0; k < 6; ++k) poly[k] = neg_coef * ipo::kExp2Poly[k];
  const typename V::reg vl = V::set1(lse);
  int64_t i = 0;
  // the head below aligns to kPairAlign, which must satisfy the single-register stream's alignment too
  static_assert(V::kPairAlign % V::template kStreamAlign<D> == 0, "kPairAlign must be a multiple of kStreamAlign");
  if (stream) {
    // Scalar head up to the store alignment, then aligned non-temporal stores.
    while (i < n && (reinterpret_cast<uintptr_t>(out + i) % V::kPairAlign) != 0) {
      ipo::store_scalar(out, D, i, neg_coef * __builtin_expf(ipo::load_scalar(x, D, i) - lse));
      ++i;
    }
    i = grad_vectors<V, D, true>(x, out, i, n, vl, poly);
  } else {
    i = grad_vectors<V, D, false>(x, out, i, n, vl, poly);
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
