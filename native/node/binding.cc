// N-API glue only: check JavaScript types, marshal typed arrays into the C ABI (native/include/ipo.h),
// call it, turn ipo_error into a TypeError/RangeError that names the argument. Every range and
// consistency check on the data itself lives in the core, which runs them before reading any array.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "ipo.h"
#include "node/js_errors.h"

#ifdef IPO_WITH_CUDA
void ipo_register_cuda(Napi::Env env, Napi::Object exports);
#endif

namespace {

using ipo_node::check;
using ipo_node::throw_range;
using ipo_node::throw_type;
using ipo_node::to_js_error;

double positive_integer(Napi::Env env, Napi::Object obj, const char* name) {
  Napi::Value v = obj.Get(name);
  if (!v.IsNumber()) throw_type(env, name, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != std::floor(d) || d > 9007199254740991.0)
    throw_range(env, name, std::string(name) + " must be a positive integer (got " + v.ToString().Utf8Value() + ")");
  return d;
}

double optional_number(Napi::Env env, Napi::Object obj, const char* name, double fallback) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw_type(env, name, std::string("options.") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string optional_string(Napi::Env env, Napi::Object obj, const char* name, const char* fallback) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw_type(env, name, std::string("options.") + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// Whether this runtime accepts external ArrayBuffers (Electron's V8 sandbox does not); learned once.
bool external_buffers_refused = false;

// A pooled gradient buffer (ipo_grad_buffer_acquire) as a JavaScript array; its finalizer gives the
// memory back once JavaScript drops the array, so the next call finds its pages already mapped and
// clears only what it must. Made after the C call: a new GB-sized array can start a garbage
// collection, whose marking threads should not compete with the kernel's. On a runtime that refuses
// external buffers the gradient is copied into an ordinary ArrayBuffer, once.
Napi::ArrayBuffer wrap_pooled_gradient(Napi::Env env, void* memory, size_t bytes) {
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, memory, bytes, [](napi_env, void* data, void*) { ipo_grad_buffer_release(data); },
                                       nullptr, &buffer) == napi_ok)
    return Napi::ArrayBuffer(env, buffer);
  external_buffers_refused = true;
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, bytes);
  std::memcpy(copy.Data(), memory, bytes);
  ipo_grad_buffer_release(memory);
  return copy;
}

// The JS objects a call reads or writes; held by reference while an async call runs.
struct Arrays {
  Napi::ObjectReference logits, labels, ref, grad;
};

struct ParsedInput {
  ipo_logits logits{};
  bool is_u16 = false;
  int64_t elements = 0;
};

// A Float32Array or Uint16Array (like the logits) over the whole buffer.
Napi::Object typed_like(Napi::Env env, const ParsedInput& input, Napi::ArrayBuffer buffer) {
  const size_t n = (size_t)input.elements;
  return input.is_u16 ? Napi::Object(Napi::Uint16Array::New(env, n, buffer, 0)) : Napi::Object(Napi::Float32Array::New(env, n, buffer, 0));
}

ParsedInput parse_input(Napi::Env env, Napi::Value value, Arrays* keep) {
  if (!value.IsObject() || value.IsArray()) throw_type(env, "input", "input must be an object { logits, dtype?, seqLen, vocab, labels }");
  Napi::Object input = value.As<Napi::Object>();
  ParsedInput p;

  Napi::Value logits = input.Get("logits");
  if (!logits.IsTypedArray()) throw_type(env, "logits", "logits must be a Float32Array or a Uint16Array");
  Napi::TypedArray typed = logits.As<Napi::TypedArray>();
  const napi_typedarray_type kind = typed.TypedArrayType();
  if (kind != napi_float32_array && kind != napi_uint16_array)
    throw_type(env, "logits", "logits must be a Float32Array or a Uint16Array (bf16/f16 bits)");
  p.is_u16 = kind == napi_uint16_array;

  Napi::Value dtype_value = input.Get("dtype");
  std::string dtype = "float32";
  if (!dtype_value.IsUndefined()) {
    if (!dtype_value.IsString()) throw_type(env, "dtype", "dtype must be 'float32', 'bfloat16' or 'float16'");
    dtype = dtype_value.As<Napi::String>().Utf8Value();
  } else if (p.is_u16) {
    throw_type(env, "dtype", "dtype is required for a Uint16Array of logits: 'bfloat16' or 'float16'");
  }
  if (dtype == "float32") p.logits.dtype = IPO_DTYPE_F32;
  else if (dtype == "bfloat16") p.logits.dtype = IPO_DTYPE_BF16;
  else if (dtype == "float16") p.logits.dtype = IPO_DTYPE_F16;
  else throw_type(env, "dtype", "dtype must be 'float32', 'bfloat16' or 'float16' (got '" + dtype + "')");
  if (p.is_u16 != (p.logits.dtype != IPO_DTYPE_F32))
    throw_type(env, "logits", p.is_u16 ? "logits is a Uint16Array but dtype is 'float32': use a Float32Array, or dtype 'bfloat16'/'float16'"
                             : "logits is a Float32Array but dtype is '" + dtype + "': 16-bit logits go in a Uint16Array");

  const double seq_len = positive_integer(env, input, "seqLen");
  const double vocab = positive_integer(env, input, "vocab");

  Napi::Value labels = input.Get("labels");
  if (!labels.IsTypedArray() || labels.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(env, "labels", "labels must be an Int32Array");
  Napi::Int32Array label_array = labels.As<Napi::Int32Array>();
  const double label_count = (double)label_array.ElementLength();
  if (label_count == 0 || std::fmod(label_count, seq_len) != 0)
    throw_range(env, "labels", "labels.length (" + std::to_string((size_t)label_count) + ") must be a positive multiple of seqLen (" +
                         std::to_string((int64_t)seq_len) + ")");
  const double sequences = label_count / seq_len;
  const double expected = sequences * seq_len * vocab;
  if (!(expected < 9007199254740992.0))
    throw_range(env, "logits", "sequences x seqLen x vocab overflows: the logits cannot have that many elements");
  if ((double)typed.ElementLength() != expected)
    throw_range(env, "logits", "logits.length is " + std::to_string(typed.ElementLength()) + " but sequences x seqLen x vocab = " +
                         std::to_string((int64_t)sequences) + " x " + std::to_string((int64_t)seq_len) + " x " +
                         std::to_string((int64_t)vocab) + " = " + std::to_string((int64_t)expected) +
                         " (sequences = labels.length / seqLen)");

  p.logits.data = static_cast<const char*>(typed.ArrayBuffer().Data()) + typed.ByteOffset();
  p.logits.sequences = (int64_t)sequences;
  p.logits.seq_len = (int64_t)seq_len;
  p.logits.vocab = (int64_t)vocab;
  p.logits.labels = label_array.Data();
  p.elements = (int64_t)expected;
  if (keep) {
    keep->logits = Napi::Persistent(logits.As<Napi::Object>());
    keep->labels = Napi::Persistent(labels.As<Napi::Object>());
  }
  return p;
}


Napi::Value TokenLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ParsedInput p = parse_input(env, info[0], nullptr);
  Napi::Float32Array out = Napi::Float32Array::New(env, (size_t)(p.logits.sequences * p.logits.seq_len));
  ipo_error err{};
  check(env, ipo_token_logprobs(&p.logits, out.Data(), 0, &err), err);
  return out;
}

Napi::Value SequenceLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ParsedInput p = parse_input(env, info[0], nullptr);
  Napi::Float32Array out = Napi::Float32Array::New(env, (size_t)p.logits.sequences);
  ipo_error err{};
  check(env, ipo_sequence_logprobs(&p.logits, out.Data(), 0, &err), err);
  return out;
}

// Everything one DPO call needs, built on the JS thread; the C call may then run on any thread.
struct DpoCall {
  ParsedInput input;
  const float* ref = nullptr;
  ipo_dpo_options options{};
  ipo_dpo_outputs outputs{};
  int64_t pairs = 0;
  std::string grad_mode;
  Arrays keep;
  Napi::Reference<Napi::Float32Array> stats[5];
  ipo_error err{};
  int32_t status = IPO_OK;
  // grad 'buffer' from the pool: owned here until dpo_result hands it to JavaScript.
  void* pooled = nullptr;
  size_t pooled_bytes = 0;
  ~DpoCall() {
    if (pooled) ipo_grad_buffer_release(pooled);
  }
};

void prepare_dpo(Napi::Env env, const Napi::CallbackInfo& info, DpoCall* call, bool hold) {
  call->input = parse_input(env, info[0], hold ? &call->keep : nullptr);
  Napi::Object input = info[0].As<Napi::Object>();
  Napi::Value ref = input.Get("refLogps");
  if (!ref.IsTypedArray() || ref.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(env, "refLogps", "refLogps must be a Float32Array");
  Napi::Float32Array ref_array = ref.As<Napi::Float32Array>();
  if ((int64_t)ref_array.ElementLength() != call->input.logits.sequences)
    throw_range(env, "refLogps", "refLogps.length is " + std::to_string(ref_array.ElementLength()) + " but the batch has " +
                         std::to_string(call->input.logits.sequences) + " sequences (2 x pairs)");
  call->ref = ref_array.Data();
  if (hold) call->keep.ref = Napi::Persistent(ref.As<Napi::Object>());

  Napi::Object options = Napi::Object::New(env);
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw_type(env, "options", "options must be an object");
    options = info[1].As<Napi::Object>();
  }
  ipo_dpo_options& o = call->options;
  o.beta = optional_number(env, options, "beta", 0.1);
  o.label_smoothing = optional_number(env, options, "labelSmoothing", 0.0);
  o.sft_weight = optional_number(env, options, "sftWeight", 0.0);
  const double threads = optional_number(env, options, "threads", 0.0);
  if (!(threads >= 0) || threads != std::floor(threads) || threads > 4096)
    throw_range(env, "threads", "options.threads must be a positive integer (got " + std::to_string(threads) + ")");
  o.threads = (int32_t)threads;
  const std::string loss = optional_string(env, options, "lossType", "sigmoid");
  if (loss == "sigmoid") o.loss_type = IPO_LOSS_SIGMOID;
  else if (loss == "robust") o.loss_type = IPO_LOSS_ROBUST;
  else if (loss == "hinge") o.loss_type = IPO_LOSS_HINGE;
  else if (loss == "ipo") o.loss_type = IPO_LOSS_IPO;
  else throw_type(env, "lossType", "options.lossType must be 'sigmoid', 'robust', 'hinge' or 'ipo' (got '" + loss + "')");
  call->grad_mode = optional_string(env, options, "grad", "buffer");
  if (call->grad_mode != "buffer" && call->grad_mode != "inplace" && call->grad_mode != "none")
    throw_type(env, "grad", "options.grad must be 'buffer', 'inplace' or 'none' (got '" + call->grad_mode + "')");

  if (call->input.logits.sequences % 2 != 0)
    throw_range(env, "labels", "the batch must hold 2 x pairs sequences (chosen then rejected); got an odd number: " +
                         std::to_string(call->input.logits.sequences));
  call->pairs = call->input.logits.sequences / 2;
  float** stat_ptrs[5] = {&call->outputs.chosen_logps, &call->outputs.rejected_logps, &call->outputs.chosen_rewards,
                          &call->outputs.rejected_rewards, &call->outputs.margins};
  for (int i = 0; i < 5; ++i) {
    Napi::Float32Array a = Napi::Float32Array::New(env, (size_t)call->pairs);
    *stat_ptrs[i] = a.Data();
    call->stats[i] = Napi::Persistent(a);
  }
  Napi::Value grad_out = options.Get("gradOut");
  if (!grad_out.IsUndefined()) {
    if (call->grad_mode != "buffer")
      throw_type(env, "gradOut", "options.gradOut goes with grad 'buffer' (got grad '" + call->grad_mode + "')");
    const napi_typedarray_type want = call->input.is_u16 ? napi_uint16_array : napi_float32_array;
    if (!grad_out.IsTypedArray() || grad_out.As<Napi::TypedArray>().TypedArrayType() != want)
      throw_type(env, "gradOut", std::string("options.gradOut must be a ") + (call->input.is_u16 ? "Uint16Array" : "Float32Array") +
                                     ", like the logits");
    Napi::TypedArray out = grad_out.As<Napi::TypedArray>();
    if ((int64_t)out.ElementLength() != call->input.elements)
      throw_range(env, "gradOut", "options.gradOut.length is " + std::to_string(out.ElementLength()) + " but the logits have " +
                                      std::to_string(call->input.elements) + " elements");
    char* begin = static_cast<char*>(out.ArrayBuffer().Data()) + out.ByteOffset();
    const size_t bytes = out.ByteLength();
    auto overlaps = [&](const void* p, size_t n) {
      const char* c = static_cast<const char*>(p);
      return c < begin + bytes && begin < c + n;
    };
    const char* logits = static_cast<const char*>(call->input.logits.data);
    if (overlaps(logits, bytes) && begin != logits)
      throw_range(env, "gradOut", "options.gradOut partly overlaps the logits (pass the logits array itself, or use grad 'inplace')");
    if (overlaps(call->input.logits.labels, (size_t)(call->input.logits.sequences * call->input.logits.seq_len) * 4) ||
        overlaps(call->ref, (size_t)call->input.logits.sequences * 4))
      throw_range(env, "gradOut", "options.gradOut overlaps labels or refLogps");
    // Reused memory holds old values: every unscored row is written as zero.
    call->outputs.grad = begin;
    call->outputs.grad_is_zeroed = 0;
    call->keep.grad = Napi::Persistent(grad_out.As<Napi::Object>());
  } else if (call->grad_mode == "buffer") {
    const size_t bytes = (size_t)call->input.elements * (call->input.is_u16 ? 2 : 4);
    call->pooled = external_buffers_refused ? nullptr : ipo_grad_buffer_acquire(bytes);
    if (call->pooled) {
      // Cleared by the call itself (grad_pool.h); its JavaScript array is made in dpo_result.
      call->pooled_bytes = bytes;
      call->outputs.grad = call->pooled;
      call->outputs.grad_is_zeroed = 0;
    } else {
      // Node's calloc: unscored pages are never faulted in, so they cost nothing.
      Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
      call->outputs.grad = buffer.Data();
      call->outputs.grad_is_zeroed = 1;
      call->keep.grad = Napi::Persistent(typed_like(env, call->input, buffer));
    }
  } else if (call->grad_mode == "inplace") {
    call->outputs.grad = const_cast<void*>(call->input.logits.data);
    call->outputs.grad_is_zeroed = 0;
    call->keep.grad = Napi::Persistent(input.Get("logits").As<Napi::Object>());
  }
}

Napi::Object dpo_result(Napi::Env env, DpoCall* call) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", Napi::Number::New(env, call->outputs.loss));
  static const char* names[5] = {"chosenLogps", "rejectedLogps", "chosenRewards", "rejectedRewards", "margins"};
  for (int i = 0; i < 5; ++i) result.Set(names[i], call->stats[i].Value());
  result.Set("accuracy", Napi::Number::New(env, call->outputs.accuracy));
  if (call->pooled) {
    Napi::ArrayBuffer buffer = wrap_pooled_gradient(env, call->pooled, call->pooled_bytes);
    call->pooled = nullptr;  // JavaScript owns it now (or it was copied and released)
    result.Set("gradLogits", typed_like(env, call->input, buffer));
  } else if (!call->keep.grad.IsEmpty()) {
    result.Set("gradLogits", call->keep.grad.Value());
  }
  return result;
}

Napi::Value DpoLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DpoCall call;
  prepare_dpo(env, info, &call, false);
  call.status = ipo_dpo_loss(&call.input.logits, call.ref, &call.options, &call.outputs, &call.err);
  check(env, call.status, call.err);
  return dpo_result(env, &call);
}

class DpoWorker : public Napi::AsyncWorker {
 public:
  DpoWorker(Napi::Env env, DpoCall* call)
      : Napi::AsyncWorker(env, "ipo:dpoLoss"), call_(call), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~DpoWorker() override { delete call_; }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    call_->status = ipo_dpo_loss(&call_->input.logits, call_->ref, &call_->options, &call_->outputs, &call_->err);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (call_->status != IPO_OK) deferred_.Reject(to_js_error(env, call_->err).Value());
    else deferred_.Resolve(dpo_result(env, call_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  DpoCall* call_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value DpoLossAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* call = new DpoCall();
  try {
    prepare_dpo(env, info, call, true);
  } catch (const Napi::Error& e) {
    delete call;
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
  auto* worker = new DpoWorker(env, call);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", Napi::String::New(env, "cpu"));
  o.Set("threads", Napi::Number::New(env, ipo_cpu_threads()));
  o.Set("simd", Napi::String::New(env, ipo_cpu_simd()));
  o.Set("version", Napi::String::New(env, ipo_version()));
  return o;
}

Napi::Value SelectSimd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_type(env, "simd", "simd must be 'auto', 'scalar', 'avx2', 'avx512' or 'neon'");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  ipo_error err{};
  check(env, ipo_cpu_select_simd(name.c_str(), &err), err);
  return Napi::String::New(env, ipo_cpu_simd());
}

Napi::Value GradientCacheInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ipo_grad_cache_stats st{};
  ipo_grad_cache_get_stats(&st);
  Napi::Object o = Napi::Object::New(env);
  o.Set("hits", Napi::Number::New(env, (double)st.hits));
  o.Set("misses", Napi::Number::New(env, (double)st.misses));
  o.Set("refused", Napi::Number::New(env, (double)st.refused));
  o.Set("idleBuffers", Napi::Number::New(env, (double)st.idle_buffers));
  o.Set("idleBytes", Napi::Number::New(env, (double)st.idle_bytes));
  o.Set("liveBuffers", Napi::Number::New(env, (double)st.live_buffers));
  o.Set("liveBytes", Napi::Number::New(env, (double)st.live_bytes));
  return o;
}

Napi::Value TrimGradientCache(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)ipo_grad_cache_trim());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tokenLogprobs", Napi::Function::New(env, TokenLogprobs, "tokenLogprobs"));
  exports.Set("sequenceLogprobs", Napi::Function::New(env, SequenceLogprobs, "sequenceLogprobs"));
  exports.Set("dpoLoss", Napi::Function::New(env, DpoLoss, "dpoLoss"));
  exports.Set("dpoLossAsync", Napi::Function::New(env, DpoLossAsync, "dpoLossAsync"));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("selectSimd", Napi::Function::New(env, SelectSimd, "selectSimd"));
  exports.Set("gradientCacheInfo", Napi::Function::New(env, GradientCacheInfo, "gradientCacheInfo"));
  exports.Set("trimGradientCache", Napi::Function::New(env, TrimGradientCache, "trimGradientCache"));
#ifdef IPO_WITH_CUDA
  ipo_register_cuda(env, exports);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(ipo, Init)
