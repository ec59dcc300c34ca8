// C++ tests of the C ABI (ipo.h), run by ctest, in CI under AddressSanitizer + UBSan.
// Oracle: a plain double-precision implementation written here from the formulas, independent of the
// kernels (no blocking, no vector exp, no shared code with native/cpu).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ipo.h"
#if defined(__x86_64__)
#include "cpu/row_kernels_avx512.h"  // to cover the AVX-512F bf16 path on CPUs with AVX512_BF16
#endif

namespace {

int failures = 0;
int checks = 0;

#define CHECK(cond, ...)                                      \
  do {                                                        \
    ++checks;                                                 \
    if (!(cond)) {                                            \
      ++failures;                                             \
      std::printf("FAIL %s:%d: %s | ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                               \
      std::printf("\n");                                      \
    }                                                         \
  } while (0)

struct Batch {
  int64_t pairs, seq_len, vocab;
  std::vector<float> logits;
  std::vector<int32_t> labels;
  std::vector<float> ref;
  ipo_logits view() const {
    return ipo_logits{logits.data(), IPO_DTYPE_F32, 2 * pairs, seq_len, vocab, labels.data()};
  }
};

Batch make_batch(int64_t pairs, int64_t seq_len, int64_t vocab, unsigned seed, double scored = 0.5) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  Batch b{pairs, seq_len, vocab, {}, {}, {}};
  b.logits.resize((size_t)(2 * pairs * seq_len * vocab));
  for (auto& x : b.logits) x = u(gen);
  b.labels.assign((size_t)(2 * pairs * seq_len), IPO_IGNORE_INDEX);
  const int64_t len = std::max<int64_t>(1, (int64_t)std::lround(scored * (double)seq_len));
  for (int64_t s = 0; s < 2 * pairs; ++s)
    for (int64_t t = seq_len - len; t < seq_len; ++t) b.labels[(size_t)(s * seq_len + t)] = (int32_t)(gen() % (unsigned)vocab);
  b.ref.resize((size_t)(2 * pairs));
  for (auto& r : b.ref) r = -(float)len * 3.f + u(gen);
  return b;
}

struct Oracle {
  std::vector<double> logp, lse, seq;
  std::vector<int64_t> count;
  double loss = 0;
  std::vector<double> grad;
};

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Plain DPO (sigmoid, label smoothing eps) + sft term, straight from the formulas.
Oracle oracle(const Batch& b, double beta, double eps, double sft) {
  Oracle o;
  const int64_t rows = 2 * b.pairs * b.seq_len;
  o.logp.assign((size_t)rows, 0);
  o.lse.assign((size_t)rows, 0);
  o.seq.assign((size_t)(2 * b.pairs), 0);
  o.count.assign((size_t)(2 * b.pairs), 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (b.labels[(size_t)r] == IPO_IGNORE_INDEX) continue;
    double sum = 0;
    for (int64_t j = 0; j < b.vocab; ++j) sum += std::exp((double)b.logits[(size_t)(r * b.vocab + j)]);
    o.lse[(size_t)r] = std::log(sum);
    o.logp[(size_t)r] = b.logits[(size_t)(r * b.vocab + b.labels[(size_t)r])] - o.lse[(size_t)r];
    o.seq[(size_t)(r / b.seq_len)] += o.logp[(size_t)r];
    o.count[(size_t)(r / b.seq_len)]++;
  }
  std::vector<double> coef((size_t)(2 * b.pairs));
  double nll = 0, tokens = 0;
  for (int64_t i = 0; i < b.pairs; ++i) {
    const double h = beta * ((o.seq[(size_t)i] - b.ref[(size_t)i]) - (o.seq[(size_t)(b.pairs + i)] - b.ref[(size_t)(b.pairs + i)]));
    o.loss += (-(1 - eps) * log_sigmoid(h) - eps * log_sigmoid(-h)) / (double)b.pairs;
    const double dh = (-(1 - eps) * sigmoid(-h) + eps * sigmoid(h)) / (double)b.pairs;
    coef[(size_t)i] = beta * dh;
    coef[(size_t)(b.pairs + i)] = -beta * dh;
    nll -= o.seq[(size_t)i];
    tokens += (double)o.count[(size_t)i];
  }
  o.loss += sft * nll / tokens;
  for (int64_t i = 0; i < b.pairs; ++i) coef[(size_t)i] -= sft / tokens;
  o.grad.assign(b.logits.size(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (b.labels[(size_t)r] == IPO_IGNORE_INDEX) continue;
    for (int64_t j = 0; j < b.vocab; ++j) {
      const double p = std::exp((double)b.logits[(size_t)(r * b.vocab + j)] - o.lse[(size_t)r]);
      o.grad[(size_t)(r * b.vocab + j)] = coef[(size_t)(r / b.seq_len)] * ((j == b.labels[(size_t)r] ? 1.0 : 0.0) - p);
    }
  }
  return o;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(b), 1e-6); }

void test_parity(const char* simd) {
  ipo_error err{};
  if (ipo_cpu_select_simd(simd, &err) != IPO_OK) {
    std::printf("skip %s: %s\n", simd, err.message);  // not a failure: this CPU lacks it
    return;
  }
  const int64_t shapes[][3] = {{1, 1, 1}, {2, 3, 7}, {3, 5, 33}, {1, 4, 2049}, {2, 3, 5003}};
  unsigned seed = 1;
  for (const auto& sh : shapes) {
    Batch b = make_batch(sh[0], sh[1], sh[2], seed++);
    for (double sft : {0.0, 0.2}) {
      const Oracle o = oracle(b, 0.1, 0.1, sft);
      ipo_dpo_options opt{0.1, IPO_LOSS_SIGMOID, 0.1, sft, 0};
      std::vector<float> cl((size_t)b.pairs), rl((size_t)b.pairs), cr((size_t)b.pairs), rr((size_t)b.pairs), m((size_t)b.pairs);
      std::vector<float> grad(b.logits.size(), 7.f);  // poisoned: every element must be written
      ipo_dpo_outputs out{0, 0, cl.data(), rl.data(), cr.data(), rr.data(), m.data(), grad.data(), 0};
      ipo_logits in = b.view();
      CHECK(ipo_dpo_loss(&in, b.ref.data(), &opt, &out, &err) == IPO_OK, "%s: %s", simd, err.message);
      CHECK(rel(out.loss, o.loss) < 1e-5, "%s loss %.9g vs %.9g", simd, out.loss, o.loss);
      for (int64_t i = 0; i < b.pairs; ++i) CHECK(rel(cl[(size_t)i], o.seq[(size_t)i]) < 1e-5, "%s chosen logp", simd);
      double diff = 0, norm = 0;
      for (size_t k = 0; k < grad.size(); ++k) {
        diff += (grad[k] - o.grad[k]) * (grad[k] - o.grad[k]);
        norm += o.grad[k] * o.grad[k];
      }
      const double ratio = norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);  // vocab 1: the gradient is exactly 0
      CHECK(ratio < 1e-5, "%s gradient rel norm %.3g (vocab %lld)", simd, ratio, (long long)b.vocab);

      std::vector<float> tokens(b.labels.size(), 9.f), seqs((size_t)(2 * b.pairs), 9.f);
      CHECK(ipo_token_logprobs(&in, tokens.data(), 1, &err) == IPO_OK, "%s", err.message);
      CHECK(ipo_sequence_logprobs(&in, seqs.data(), 2, &err) == IPO_OK, "%s", err.message);
      for (size_t r = 0; r < tokens.size(); ++r) CHECK(std::fabs(tokens[r] - o.logp[r]) < 1e-5 * std::max(1.0, std::fabs(o.logp[r])), "token %zu", r);
      for (size_t s = 0; s < seqs.size(); ++s) CHECK(rel(seqs[s], o.seq[s]) < 1e-5, "seq %zu", s);
    }
  }
  ipo_cpu_select_simd("auto", &err);
}

void test_in_place_and_16bit() {
  ipo_error err{};
  Batch b = make_batch(2, 6, 300, 42, 0.3);
  ipo_dpo_options opt{0.1, IPO_LOSS_SIGMOID, 0, 0, 2};
  std::vector<float> buffered(b.logits.size(), 0.f);
  ipo_dpo_outputs out{};
  out.grad = buffered.data();
  out.grad_is_zeroed = 1;
  ipo_logits in = b.view();
  CHECK(ipo_dpo_loss(&in, b.ref.data(), &opt, &out, &err) == IPO_OK, "%s", err.message);
  std::vector<float> inplace = b.logits;
  ipo_logits in2 = in;
  in2.data = inplace.data();
  ipo_dpo_outputs out2{};
  out2.grad = inplace.data();
  CHECK(ipo_dpo_loss(&in2, b.ref.data(), &opt, &out2, &err) == IPO_OK, "%s", err.message);
  CHECK(std::memcmp(buffered.data(), inplace.data(), 4 * inplace.size()) == 0, "in-place gradient differs from buffered");
  CHECK(out.loss == out2.loss, "in-place loss differs");

  // bf16 logits: decoded values give the same loss as their float32 copy (f32 accumulation).
  std::vector<uint16_t> bf(b.logits.size());
  std::vector<float> widened(b.logits.size());
  for (size_t k = 0; k < bf.size(); ++k) {
    uint32_t u;
    std::memcpy(&u, &b.logits[k], 4);
    bf[k] = (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
    const uint32_t w = (uint32_t)bf[k] << 16;
    std::memcpy(&widened[k], &w, 4);
  }
  ipo_logits bin{bf.data(), IPO_DTYPE_BF16, 4, 6, 300, b.labels.data()};
  ipo_logits fin{widened.data(), IPO_DTYPE_F32, 4, 6, 300, b.labels.data()};
  std::vector<uint16_t> bgrad(bf.size(), 0xffff);
  ipo_dpo_outputs bout{};
  bout.grad = bgrad.data();
  ipo_dpo_outputs fout{};
  CHECK(ipo_dpo_loss(&bin, b.ref.data(), &opt, &bout, &err) == IPO_OK, "%s", err.message);
  CHECK(ipo_dpo_loss(&fin, b.ref.data(), &opt, &fout, &err) == IPO_OK, "%s", err.message);
  CHECK(rel(bout.loss, fout.loss) < 1e-6, "bf16 loss %.9g vs f32 of same values %.9g", bout.loss, fout.loss);
  for (size_t r = 0; r < b.labels.size(); ++r)
    if (b.labels[r] == IPO_IGNORE_INDEX)
      for (int64_t j = 0; j < 300; ++j) CHECK(bgrad[r * 300 + (size_t)j] == 0, "unscored bf16 row %zu not zeroed", r);
}

void expect_error(int32_t got, int32_t status, const ipo_error& err, const char* argument, const char* what) {
  CHECK(got == status, "%s: status %d, wanted %d (%s)", what, got, status, err.message);
  CHECK(std::strcmp(err.argument, argument) == 0, "%s: argument '%s', wanted '%s'", what, err.argument, argument);
}

void test_validation() {
  ipo_error err{};
  Batch b = make_batch(2, 4, 10, 3);
  ipo_dpo_options opt{0.1, IPO_LOSS_SIGMOID, 0, 0, 1};
  ipo_dpo_outputs out{};
  std::vector<float> grad(b.logits.size());
  out.grad = grad.data();
  ipo_logits in = b.view();

  expect_error(ipo_dpo_loss(nullptr, b.ref.data(), &opt, &out, &err), IPO_ERR_TYPE, err, "input", "null input");
  { ipo_logits x = in; x.dtype = 9; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_TYPE, err, "dtype", "dtype"); }
  { ipo_logits x = in; x.vocab = 0; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "vocab", "vocab 0"); }
  { ipo_logits x = in; x.seq_len = -1; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "seqLen", "seqLen"); }
  { ipo_logits x = in; x.sequences = INT64_MAX / 2; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "logits", "overflow"); }
  { ipo_logits x = in; x.data = nullptr; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_TYPE, err, "logits", "null logits"); }
  {
    Batch c = b;
    c.labels[5] = 10;
    ipo_logits x = c.view();
    expect_error(ipo_dpo_loss(&x, c.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "labels", "label == vocab");
    CHECK(err.sequence == 1 && err.position == 1, "label error at (%lld, %lld)", (long long)err.sequence, (long long)err.position);
    c.labels[5] = -1;
    expect_error(ipo_dpo_loss(&x, c.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "labels", "label -1");
  }
  {
    Batch c = b;
    for (int64_t t = 0; t < 4; ++t) c.labels[(size_t)(2 * 4 + t)] = IPO_IGNORE_INDEX;
    ipo_logits x = c.view();
    expect_error(ipo_dpo_loss(&x, c.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "labels", "unscored sequence");
    CHECK(err.sequence == 2, "unscored sequence reported as %lld", (long long)err.sequence);
  }
  { ipo_logits x = in; x.sequences = 3; expect_error(ipo_dpo_loss(&x, b.ref.data(), &opt, &out, &err), IPO_ERR_RANGE, err, "labels", "odd sequences"); }
  for (double beta : {0.0, -1.0, (double)NAN, (double)INFINITY}) {
    ipo_dpo_options o = opt;
    o.beta = beta;
    expect_error(ipo_dpo_loss(&in, b.ref.data(), &o, &out, &err), IPO_ERR_RANGE, err, "beta", "beta");
  }
  for (double eps : {-0.1, 0.5, (double)NAN}) {
    ipo_dpo_options o = opt;
    o.label_smoothing = eps;
    expect_error(ipo_dpo_loss(&in, b.ref.data(), &o, &out, &err), IPO_ERR_RANGE, err, "labelSmoothing", "label smoothing");
  }
  { ipo_dpo_options o = opt; o.loss_type = 4; expect_error(ipo_dpo_loss(&in, b.ref.data(), &o, &out, &err), IPO_ERR_RANGE, err, "lossType", "loss type"); }
  expect_error(ipo_dpo_loss(&in, nullptr, &opt, &out, &err), IPO_ERR_TYPE, err, "refLogps", "null ref");
  {
    Batch c = b;
    const int64_t row = 3 * 4 + 3;  // scored (last positions are scored)
    c.logits[(size_t)(row * 10 + 4)] = NAN;
    std::vector<float> g(c.logits.size(), 5.f);
    ipo_dpo_outputs o2{};
    o2.grad = g.data();
    ipo_logits x = c.view();
    expect_error(ipo_dpo_loss(&x, c.ref.data(), &opt, &o2, &err), IPO_ERR_NONFINITE, err, "logits", "NaN");
    CHECK(err.sequence == 3 && err.position == 3, "NaN reported at (%lld, %lld)", (long long)err.sequence, (long long)err.position);
    CHECK(g[0] == 5.f, "the gradient was written although the call failed");
    c.logits[(size_t)(row * 10 + 4)] = -INFINITY;
    expect_error(ipo_dpo_loss(&x, c.ref.data(), &opt, &o2, &err), IPO_ERR_NONFINITE, err, "logits", "-inf");
  }
  CHECK(ipo_cpu_select_simd("sse9", &err) == IPO_ERR_UNAVAILABLE, "unknown simd accepted");
}


// 16-bit encodings written here from the formats' definitions (round to nearest even), independent of
// native/cpu/dtype.h.
uint16_t to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
float from_bf16_bits(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The vector kernels check finiteness through the log-sum-exp itself (a NaN or infinite element makes the
// block's sum NaN), and unroll by two vectors with a one-vector and a scalar tail. A NaN, +inf or -inf at
// any of those places, in the first or a later 2048-element block, in every dtype and instruction set,
// must fail the call and name the row. Rows whose logits spread over more than ln(FLT_MAX) (terms that
// underflow) must still match the float64 oracle.
void test_nonfinite_and_wide_rows(const char* simd) {
  ipo_error err{};
  if (ipo_cpu_select_simd(simd, &err) != IPO_OK) return;  // not on this CPU (reported by test_parity)
  const int64_t vocab = 2 * 2048 + 16 + 8 + 5;  // two full blocks, then pairs, one vector and a scalar tail
  const int64_t positions[] = {0, 17, 47, 2047, 2048 + 31, 4096, 4096 + 20, 4096 + 27, vocab - 1};
  const uint16_t bf16_bad[] = {0x7fc0, 0x7f80, 0xff80}, f16_bad[] = {0x7e00, 0x7c00, 0xfc00};
  const float f32_bad[] = {NAN, INFINITY, -INFINITY};
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(-4.f, 4.f);
  std::vector<float> base((size_t)(2 * vocab));
  for (auto& x : base) x = u(gen);
  std::vector<int32_t> labels = {3, 9};
  float out[2];
  for (int dtype : {IPO_DTYPE_F32, IPO_DTYPE_BF16, IPO_DTYPE_F16})
    for (int bad = 0; bad < 3; ++bad)
      for (int64_t pos : positions) {
        std::vector<float> f = base;
        std::vector<uint16_t> h(f.size());
        for (size_t i = 0; i < f.size(); ++i) {
          const float v = dtype == IPO_DTYPE_BF16 ? from_bf16_bits(to_bf16_bits(f[i])) : f[i];
          h[i] = dtype == IPO_DTYPE_BF16 ? to_bf16_bits(v) : 0x3c00;  // f16 rows: 1.0 everywhere
        }
        const size_t at = (size_t)(vocab + pos);  // second sequence
        f[at] = f32_bad[bad];
        h[at] = dtype == IPO_DTYPE_BF16 ? bf16_bad[bad] : f16_bad[bad];
        const void* data = dtype == IPO_DTYPE_F32 ? (const void*)f.data() : (const void*)h.data();
        ipo_logits in{data, (int32_t)dtype, 2, 1, vocab, labels.data()};
        const int32_t s = ipo_sequence_logprobs(&in, out, 1, &err);
        CHECK(s == IPO_ERR_NONFINITE && err.sequence == 1 && err.position == 0,
              "%s dtype %d value %d at %lld: status %d, sequence %lld", simd, dtype, bad, (long long)pos, s,
              (long long)err.sequence);
      }
  // Wide rows: one large logit, the rest 100 to 140 below it (their exp underflows in float32 once
  // shifted by the max), and a row spread uniformly over [-60, 60].
  std::vector<float> wide((size_t)(2 * vocab));
  std::uniform_real_distribution<float> far(-140.f, -100.f), spread(-60.f, 60.f);
  for (int64_t j = 0; j < vocab; ++j) wide[(size_t)j] = far(gen);
  wide[100] = 0.f;
  for (int64_t j = 0; j < vocab; ++j) wide[(size_t)(vocab + j)] = spread(gen);
  std::vector<int32_t> wide_labels = {100, 7};
  ipo_logits in{wide.data(), IPO_DTYPE_F32, 2, 1, vocab, wide_labels.data()};
  CHECK(ipo_sequence_logprobs(&in, out, 1, &err) == IPO_OK, "%s wide rows: %s", simd, err.message);
  for (int r = 0; r < 2; ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < vocab; ++j) m = std::max(m, (double)wide[(size_t)(r * vocab + j)]);
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp((double)wide[(size_t)(r * vocab + j)] - m);
    const double expected = wide[(size_t)(r * vocab + wide_labels[(size_t)r])] - (m + std::log(sum));
    CHECK(std::fabs(out[r] - expected) < 1e-5 * std::max(1.0, std::fabs(expected)), "%s wide row %d: %.9g vs %.9g",
          simd, r, out[r], expected);
  }
  ipo_cpu_select_simd("auto", &err);
}

// bfloat16 gradients, element by element, against the float64 oracle on the decoded logits: every value
// within one bfloat16 rounding (2^-8 relative) of the exact one, in every instruction set; on CPUs with
// AVX512_BF16 the hardware-rounded kernel writes exactly the bytes of the AVX-512F one.
void allow_bf16_instructions(bool allow) {
#if defined(__x86_64__)
  ipo::avx512_allow_bf16_instructions(allow);
#else
  (void)allow;
#endif
}

std::vector<uint16_t> bf16_gradient(const char* simd, const Batch& b, const std::vector<uint16_t>& bf, bool* ran) {
  ipo_error err{};
  *ran = ipo_cpu_select_simd(simd, &err) == IPO_OK;
  std::vector<uint16_t> grad(bf.size(), 0xffff);
  if (!*ran) return grad;
  ipo_dpo_options opt{0.1, IPO_LOSS_SIGMOID, 0, 0, 2};
  ipo_logits in{bf.data(), IPO_DTYPE_BF16, 2 * b.pairs, b.seq_len, b.vocab, b.labels.data()};
  ipo_dpo_outputs out{};
  out.grad = grad.data();
  CHECK(ipo_dpo_loss(&in, b.ref.data(), &opt, &out, &err) == IPO_OK, "%s: %s", simd, err.message);
  return grad;
}

void test_bf16_gradient() {
  Batch b = make_batch(1, 5, 2048 + 32 * 3 + 16 + 7, 9, 0.6);
  std::vector<uint16_t> bf(b.logits.size());
  for (size_t k = 0; k < bf.size(); ++k) {
    bf[k] = to_bf16_bits(b.logits[k]);
    b.logits[k] = from_bf16_bits(bf[k]);
  }
  const Oracle o = oracle(b, 0.1, 0, 0);
  std::vector<uint16_t> avx512_plain, avx512_hw;
  for (const char* simd : {"scalar", "avx2", "avx512", "neon"}) {
    for (bool hw : {false, true}) {
      if (hw && std::strcmp(simd, "avx512") != 0) continue;
      allow_bf16_instructions(hw);
      bool ran = false;
      const std::vector<uint16_t> g = bf16_gradient(simd, b, bf, &ran);
      if (!ran) continue;
      int bad = 0;
      for (size_t k = 0; k < g.size(); ++k) {
        const double exact = o.grad[k], got = from_bf16_bits(g[k]);
        if (!(std::fabs(got - exact) <= std::ldexp(std::fabs(exact), -8) + 1e-30)) ++bad;
      }
      CHECK(bad == 0, "%s (bf16 instructions %s): %d bf16 gradient values off by more than one rounding", simd,
            hw ? "allowed" : "off", bad);
      if (!std::strcmp(simd, "avx512")) (hw ? avx512_hw : avx512_plain) = g;
    }
  }
  allow_bf16_instructions(true);
  ipo_error err{};
  ipo_cpu_select_simd("auto", &err);
  if (!avx512_plain.empty() && !avx512_hw.empty())
    CHECK(avx512_plain == avx512_hw, "AVX512_BF16 rounding differs from the AVX-512F kernel's");
}

// Pooled gradient buffers (grad_pool.h): whatever the caller left in a buffer, and whichever rows the
// previous calls scored, a call into a pooled buffer must produce byte for byte what it produces in a
// fresh zero-filled one. The masks change every few rounds so pages go through every state (written,
// zero-written, discarded, written again), and random pages are scribbled over as a caller might.
void test_grad_pool() {
  ipo_error err{};
  std::mt19937 gen(7);
  const int64_t pairs = 2, seq_len = 40, vocab = 3001;  // rows of 12004 bytes: never page-aligned
  Batch b = make_batch(pairs, seq_len, vocab, 99, 1.0);
  const std::vector<int32_t> all_labels = b.labels;
  const size_t bytes = b.logits.size() * 4;
  ipo_dpo_options opt{0.1, IPO_LOSS_SIGMOID, 0, 0.2, 2};
  ipo_grad_cache_stats before{}, after{};
  ipo_grad_cache_get_stats(&before);
  void* previous = nullptr;
  int reused = 0;
  for (int round = 0; round < 40; ++round) {
    if (round % 4 == 0) {  // a new mask: one scored segment per sequence, or none in a few rows
      b.labels.assign(all_labels.size(), IPO_IGNORE_INDEX);
      for (int64_t s = 0; s < 2 * pairs; ++s) {
        const int64_t from = (int64_t)(gen() % (unsigned)seq_len), len = 1 + (int64_t)(gen() % (unsigned)(seq_len - from));
        for (int64_t t = from; t < from + len; ++t) b.labels[(size_t)(s * seq_len + t)] = all_labels[(size_t)(s * seq_len + t)];
      }
    }
    char* pooled = static_cast<char*>(ipo_grad_buffer_acquire(bytes));
    CHECK(pooled != nullptr, "acquire returned NULL with the cache on");
    if (!pooled) return;
    reused += pooled == previous;
    if (round % 3 != 2)  // a caller that wrote into its gradient, unscored rows included
      for (int k = 0; k < 40; ++k) std::memset(pooled + gen() % (bytes - 64), 0x5a, 64);
    ipo_dpo_outputs pout{};
    pout.grad = pooled;
    pout.grad_is_zeroed = 1;  // wrong on purpose: a pooled buffer is never taken for zero-filled
    std::vector<float> fresh(b.logits.size(), 0.f);
    ipo_dpo_outputs fout{};
    fout.grad = fresh.data();
    fout.grad_is_zeroed = 1;
    ipo_logits in = b.view();
    CHECK(ipo_dpo_loss(&in, b.ref.data(), &opt, &pout, &err) == IPO_OK, "%s", err.message);
    CHECK(ipo_dpo_loss(&in, b.ref.data(), &opt, &fout, &err) == IPO_OK, "%s", err.message);
    CHECK(std::memcmp(pooled, fresh.data(), bytes) == 0, "round %d: pooled gradient differs from a fresh buffer's", round);
    CHECK(pout.loss == fout.loss, "round %d: loss differs", round);
    ipo_grad_buffer_release(pooled);
    previous = pooled;
  }
  CHECK(reused >= 38, "the pool handed the released buffer back only %d times in 39", reused);

  // A smaller request reuses the same buffer (at most 2x larger); bytes past it are not visible.
  Batch small = make_batch(pairs, seq_len / 2 + 3, vocab, 5, 0.4);
  const size_t small_bytes = small.logits.size() * 4;
  char* pooled = static_cast<char*>(ipo_grad_buffer_acquire(small_bytes));
  CHECK(pooled == previous, "a request for %zu bytes did not reuse the idle %zu-byte buffer", small_bytes, bytes);
  std::memset(pooled, 0x7f, small_bytes);
  ipo_dpo_outputs pout{};
  pout.grad = pooled;
  std::vector<float> fresh(small.logits.size(), 0.f);
  ipo_dpo_outputs fout{};
  fout.grad = fresh.data();
  fout.grad_is_zeroed = 1;
  ipo_logits in = small.view();
  CHECK(ipo_dpo_loss(&in, small.ref.data(), &opt, &pout, &err) == IPO_OK, "%s", err.message);
  CHECK(ipo_dpo_loss(&in, small.ref.data(), &opt, &fout, &err) == IPO_OK, "%s", err.message);
  CHECK(std::memcmp(pooled, fresh.data(), small_bytes) == 0, "smaller reuse: pooled gradient differs");

  // Limits: live buffers are capped (acquire then returns NULL); unknown pointers are ignored.
  std::vector<void*> live{pooled};
  for (int k = 0; k < 8; ++k) live.push_back(ipo_grad_buffer_acquire(4096));
  int refused = 0;
  for (void* p : live) refused += p == nullptr;
  CHECK(refused > 0, "no acquire was refused with %zu buffers live", live.size());
  int unused = 0;
  ipo_grad_buffer_release(&unused);
  ipo_grad_buffer_release(nullptr);
  for (void* p : live) ipo_grad_buffer_release(p);
  ipo_grad_cache_get_stats(&after);
  CHECK(after.live_buffers == 0, "%llu buffers still live", (unsigned long long)after.live_buffers);
  CHECK(after.idle_buffers <= 2, "%llu idle buffers kept", (unsigned long long)after.idle_buffers);
  CHECK(after.hits - before.hits >= 39, "hits %llu", (unsigned long long)(after.hits - before.hits));
  CHECK(ipo_grad_cache_trim() > 0, "trim released nothing");
  ipo_grad_cache_get_stats(&after);
  CHECK(after.idle_buffers == 0 && after.idle_bytes == 0, "idle buffers left after trim");
}

}  // namespace

int main() {
  std::printf("ipo %s, simd %s, %d threads\n", ipo_version(), ipo_cpu_simd(), ipo_cpu_threads());
  for (const char* simd : {"scalar", "avx2", "avx512", "neon"}) test_parity(simd);
  for (const char* simd : {"scalar", "avx2", "avx512", "neon"}) test_nonfinite_and_wide_rows(simd);
  test_in_place_and_16bit();
  test_bf16_gradient();
  test_validation();
  test_grad_pool();
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
