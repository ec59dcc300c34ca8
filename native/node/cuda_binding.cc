// N-API glue for the CUDA path (native/include/ipo_cuda.h), registered by binding.cc when the addon
// is built with IPO_WITH_CUDA. Device memory crosses into JavaScript as a BigInt address; typed
// arrays stay host memory. Every JavaScript argument is checked (type, integer range, typed-array
// length) before any memory is touched, and errors name the argument; the checks on the data
// itself (labels, shapes, options, non-finite rows) run in the C ABI, before any kernel starts.
// Nothing here calls CUDA until a function is called: loading the addon never needs a driver.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "ipo.h"
#include "ipo_cuda.h"
#include "node/js_errors.h"

namespace {

using ipo_node::check;
using ipo_node::throw_range;
using ipo_node::throw_type;

// A device address: a non-zero BigInt that fits in 64 bits.
void* pointer_arg(Napi::Env env, Napi::Value v, const std::string& name) {
  if (!v.IsBigInt()) throw_type(env, name + " must be a BigInt device address");
  bool lossless = false;
  const uint64_t address = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw_range(env, name + " must be a device address in [1, 2^64)");
  if (address == 0) throw_range(env, name + " must not be the null address");
  return reinterpret_cast<void*>(static_cast<uintptr_t>(address));
}

// An optional cudaStream_t as a BigInt; undefined/null/0n is the legacy default stream.
void* stream_arg(Napi::Env env, Napi::Value v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsBigInt()) throw_type(env, "stream must be a BigInt cudaStream_t handle (or undefined)");
  bool lossless = false;
  const uint64_t handle = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw_range(env, "stream must fit in 64 bits");
  return reinterpret_cast<void*>(static_cast<uintptr_t>(handle));
}

double integer_arg(Napi::Env env, Napi::Value v, const std::string& name, double min) {
  if (!v.IsNumber()) throw_type(env, name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min) || d != std::floor(d) || d > 9007199254740991.0)
    throw_range(env, name + " must be an integer >= " + std::to_string((long long)min) + " (got " + v.ToString().Utf8Value() + ")");
  return d;
}

// A device ordinal: an integer in [0, 2^31).
int32_t device_arg(Napi::Env env, Napi::Value v) {
  const double d = integer_arg(env, v, "device", 0);
  if (d > 2147483647.0) throw_range(env, "device must be < 2^31 (got " + v.ToString().Utf8Value() + ")");
  return (int32_t)d;
}

double number_option(Napi::Env env, Napi::Object o, const char* name, double fallback) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw_type(env, std::string("options.") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

struct DeviceInput {
  ipo_logits logits{};
};

// { logits: bigint, dtype, sequences, seqLen, vocab, labels: Int32Array | bigint }
DeviceInput parse_device_input(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || value.IsArray())
    throw_type(env, "input must be an object { logits, dtype, sequences, seqLen, vocab, labels }");
  Napi::Object in = value.As<Napi::Object>();
  DeviceInput p;
  p.logits.data = pointer_arg(env, in.Get("logits"), "logits");
  Napi::Value dtype_value = in.Get("dtype");
  if (!dtype_value.IsString()) throw_type(env, "dtype must be 'float32', 'bfloat16' or 'float16'");
  const std::string dtype = dtype_value.As<Napi::String>().Utf8Value();
  if (dtype == "float32") p.logits.dtype = IPO_DTYPE_F32;
  else if (dtype == "bfloat16") p.logits.dtype = IPO_DTYPE_BF16;
  else if (dtype == "float16") p.logits.dtype = IPO_DTYPE_F16;
  else throw_type(env, "dtype must be 'float32', 'bfloat16' or 'float16' (got '" + dtype + "')");
  p.logits.sequences = (int64_t)integer_arg(env, in.Get("sequences"), "sequences", 1);
  p.logits.seq_len = (int64_t)integer_arg(env, in.Get("seqLen"), "seqLen", 1);
  p.logits.vocab = (int64_t)integer_arg(env, in.Get("vocab"), "vocab", 1);
  Napi::Value labels = in.Get("labels");
  if (labels.IsTypedArray() && labels.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array a = labels.As<Napi::Int32Array>();
    const double expected = (double)p.logits.sequences * (double)p.logits.seq_len;
    if ((double)a.ElementLength() != expected)
      throw_range(env, "labels must hold sequences x seqLen = " + std::to_string((long long)expected) +
                           " entries (got " + std::to_string(a.ElementLength()) + ")");
    p.logits.labels = a.Data();
  } else if (labels.IsBigInt()) {
    p.logits.labels = static_cast<const int32_t*>(pointer_arg(env, labels, "labels"));
  } else {
    throw_type(env, "labels must be an Int32Array or a BigInt device address of int32 labels");
  }
  return p;
}

Napi::Float32Array new_floats(Napi::Env env, int64_t n) { return Napi::Float32Array::New(env, (size_t)n); }

Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  ipo_error err{};
  int32_t runtime = 0, driver = 0, count = 0;
  ipo_cuda_versions(&runtime, &driver, &err);
  const int32_t s = ipo_cuda_device_count(&count, &err);
  o.Set("available", Napi::Boolean::New(env, s == IPO_OK && count > 0));
  o.Set("deviceCount", Napi::Number::New(env, count));
  o.Set("reason", Napi::String::New(env, s == IPO_OK ? "" : err.message));
  o.Set("runtimeVersion", Napi::Number::New(env, runtime));
  o.Set("driverVersion", Napi::Number::New(env, driver));
  return o;
}

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ipo_error err{};
  int32_t count = 0;
  const int32_t status = ipo_cuda_device_count(&count, &err);
  // No driver or no GPU is an answer, not an error: an empty list (status() says why).
  if (status == IPO_ERR_UNAVAILABLE) return Napi::Array::New(env, 0);
  check(env, status, err);
  Napi::Array list = Napi::Array::New(env, (size_t)count);
  for (int32_t d = 0; d < count; ++d) {
    ipo_cuda_device_info di{};
    check(env, ipo_cuda_device_info_get(d, &di, &err), err);
    Napi::Object o = Napi::Object::New(env);
    o.Set("ordinal", Napi::Number::New(env, di.ordinal));
    o.Set("name", Napi::String::New(env, di.name));
    o.Set("computeCapability", Napi::String::New(env, std::to_string(di.major) + "." + std::to_string(di.minor)));
    o.Set("multiprocessors", Napi::Number::New(env, di.multiprocessors));
    o.Set("totalMemoryBytes", Napi::Number::New(env, (double)di.total_memory_bytes));
    o.Set("l2CacheBytes", Napi::Number::New(env, (double)di.l2_cache_bytes));
    o.Set("sharedMemoryPerBlockOptin", Napi::Number::New(env, (double)di.shared_memory_per_block_optin));
    o.Set("memoryBusWidthBits", Napi::Number::New(env, di.memory_bus_width_bits));
    list.Set((uint32_t)d, o);
  }
  return list;
}

// cudaMalloc(device, bytes, zeroed) -> bigint
Napi::Value Malloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t device = device_arg(env, info[0]);
  const double bytes = integer_arg(env, info[1], "bytes", 1);
  if (!info[2].IsBoolean()) throw_type(env, "zeroed must be a boolean");
  void* ptr = nullptr;
  ipo_error err{};
  check(env, ipo_cuda_malloc(device, (size_t)bytes, info[2].As<Napi::Boolean>().Value() ? 1 : 0, &ptr, &err), err);
  return Napi::BigInt::New(env, (uint64_t)reinterpret_cast<uintptr_t>(ptr));
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* ptr = pointer_arg(env, info[0], "pointer");
  ipo_error err{};
  check(env, ipo_cuda_free(ptr, &err), err);
  return env.Undefined();
}

// cudaCopyToDevice(pointer, typedArray, stream?) / cudaCopyToHost(pointer, typedArray, stream?):
// whole typed arrays only, so the host side of the copy is always in bounds.
Napi::Value CopyHost(const Napi::CallbackInfo& info, int32_t kind) {
  Napi::Env env = info.Env();
  void* ptr = pointer_arg(env, info[0], "pointer");
  if (!info[1].IsTypedArray()) throw_type(env, kind == IPO_CUDA_HOST_TO_DEVICE ? "source must be a typed array" : "target must be a typed array");
  Napi::TypedArray a = info[1].As<Napi::TypedArray>();
  char* host = static_cast<char*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  void* stream = stream_arg(env, info[2]);
  ipo_error err{};
  if (kind == IPO_CUDA_HOST_TO_DEVICE)
    check(env, ipo_cuda_memcpy(ptr, host, a.ByteLength(), kind, stream, &err), err);
  else
    check(env, ipo_cuda_memcpy(host, ptr, a.ByteLength(), kind, stream, &err), err);
  return env.Undefined();
}
Napi::Value CopyToDevice(const Napi::CallbackInfo& info) { return CopyHost(info, IPO_CUDA_HOST_TO_DEVICE); }
Napi::Value CopyToHost(const Napi::CallbackInfo& info) { return CopyHost(info, IPO_CUDA_DEVICE_TO_HOST); }

// cudaCopyDevice(dst, src, bytes, stream?)
Napi::Value CopyDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* dst = pointer_arg(env, info[0], "dst");
  void* src = pointer_arg(env, info[1], "src");
  const double bytes = integer_arg(env, info[2], "bytes", 0);
  void* stream = stream_arg(env, info[3]);
  ipo_error err{};
  check(env, ipo_cuda_memcpy(dst, src, (size_t)bytes, IPO_CUDA_DEVICE_TO_DEVICE, stream, &err), err);
  return env.Undefined();
}

// cudaZero(pointer, bytes, stream?)
Napi::Value Zero(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* ptr = pointer_arg(env, info[0], "pointer");
  const double bytes = integer_arg(env, info[1], "bytes", 0);
  void* stream = stream_arg(env, info[2]);
  ipo_error err{};
  check(env, ipo_cuda_memset_zero(ptr, (size_t)bytes, stream, &err), err);
  return env.Undefined();
}

// synchronize(stream?, device?): the legacy default stream is one per device, so the device says whose.
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* stream = stream_arg(env, info[0]);
  const int32_t device = info[1].IsUndefined() ? -1 : device_arg(env, info[1]);
  ipo_error err{};
  check(env, ipo_cuda_stream_synchronize_device(device, stream, &err), err);
  return env.Undefined();
}

Napi::Value TokenLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceInput p = parse_device_input(env, info[0]);
  void* stream = stream_arg(env, info[1]);
  Napi::Float32Array out = new_floats(env, p.logits.sequences * p.logits.seq_len);
  ipo_error err{};
  check(env, ipo_cuda_token_logprobs(&p.logits, out.Data(), stream, &err), err);
  return out;
}

Napi::Value SequenceLogprobs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceInput p = parse_device_input(env, info[0]);
  void* stream = stream_arg(env, info[1]);
  Napi::Float32Array out = new_floats(env, p.logits.sequences);
  ipo_error err{};
  check(env, ipo_cuda_sequence_logprobs(&p.logits, out.Data(), stream, &err), err);
  return out;
}

// cudaDpoLoss(input & { refLogps: Float32Array }, { beta, lossType, labelSmoothing, sftWeight,
//   grad: bigint | null, gradIsZeroed }, stream?) -> statistics; the gradient (if any) is written
// to `grad` on the device and the stream is synchronized before returning.
Napi::Value DpoLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceInput p = parse_device_input(env, info[0]);
  Napi::Object in = info[0].As<Napi::Object>();
  Napi::Value ref = in.Get("refLogps");
  if (!ref.IsTypedArray() || ref.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(env, "refLogps must be a Float32Array");
  Napi::Float32Array ref_logps = ref.As<Napi::Float32Array>();
  if ((int64_t)ref_logps.ElementLength() != p.logits.sequences)
    throw_range(env, "refLogps must hold one entry per sequence (" + std::to_string((long long)p.logits.sequences) +
                         "), got " + std::to_string(ref_logps.ElementLength()));
  if (p.logits.sequences % 2 != 0)
    throw_range(env, "sequences must be even (2 x pairs: chosen then rejected), got " + std::to_string((long long)p.logits.sequences));
  if (!info[1].IsUndefined() && (!info[1].IsObject() || info[1].IsArray())) throw_type(env, "options must be an object");
  Napi::Object o = info[1].IsUndefined() ? Napi::Object::New(env) : info[1].As<Napi::Object>();

  ipo_dpo_options options{};
  options.beta = number_option(env, o, "beta", 0.1);
  options.label_smoothing = number_option(env, o, "labelSmoothing", 0.0);
  options.sft_weight = number_option(env, o, "sftWeight", 0.0);
  Napi::Value loss_type = o.Get("lossType");
  options.loss_type = IPO_LOSS_SIGMOID;
  if (!loss_type.IsUndefined()) {
    if (!loss_type.IsString()) throw_type(env, "options.lossType must be 'sigmoid', 'robust', 'hinge' or 'ipo'");
    const std::string t = loss_type.As<Napi::String>().Utf8Value();
    if (t == "sigmoid") options.loss_type = IPO_LOSS_SIGMOID;
    else if (t == "robust") options.loss_type = IPO_LOSS_ROBUST;
    else if (t == "hinge") options.loss_type = IPO_LOSS_HINGE;
    else if (t == "ipo") options.loss_type = IPO_LOSS_IPO;
    else throw_range(env, "options.lossType must be 'sigmoid', 'robust', 'hinge' or 'ipo' (got '" + t + "')");
  }

  const int64_t pairs = p.logits.sequences / 2;
  Napi::Float32Array chosen = new_floats(env, pairs), rejected = new_floats(env, pairs);
  Napi::Float32Array chosen_rewards = new_floats(env, pairs), rejected_rewards = new_floats(env, pairs);
  Napi::Float32Array margins = new_floats(env, pairs);
  ipo_dpo_outputs out{};
  out.chosen_logps = chosen.Data();
  out.rejected_logps = rejected.Data();
  out.chosen_rewards = chosen_rewards.Data();
  out.rejected_rewards = rejected_rewards.Data();
  out.margins = margins.Data();
  Napi::Value grad = o.Get("grad");
  out.grad = grad.IsUndefined() || grad.IsNull() ? nullptr : pointer_arg(env, grad, "options.grad");
  Napi::Value zeroed = o.Get("gradIsZeroed");
  if (!zeroed.IsUndefined() && !zeroed.IsBoolean()) throw_type(env, "options.gradIsZeroed must be a boolean");
  out.grad_is_zeroed = zeroed.IsBoolean() && zeroed.As<Napi::Boolean>().Value() ? 1 : 0;
  void* stream = stream_arg(env, info[2]);

  ipo_error err{};
  check(env, ipo_cuda_dpo_loss(&p.logits, ref_logps.Data(), &options, &out, stream, &err), err);
  if (out.grad) {
    // Wait on the logits' device, not the current one: with the legacy default stream (and with
    // several GPUs) the current device's stream is not the one the gradient was written on.
    int32_t device = -1;
    check(env, ipo_cuda_pointer_device(p.logits.data, &device, &err), err);
    check(env, ipo_cuda_stream_synchronize_device(device, stream, &err), err);
  }

  Napi::Object r = Napi::Object::New(env);
  r.Set("loss", Napi::Number::New(env, out.loss));
  r.Set("accuracy", Napi::Number::New(env, out.accuracy));
  r.Set("chosenLogps", chosen);
  r.Set("rejectedLogps", rejected);
  r.Set("chosenRewards", chosen_rewards);
  r.Set("rejectedRewards", rejected_rewards);
  r.Set("margins", margins);
  return r;
}

}  // namespace

// exports.cuda = { status, devices, malloc, free, copyToDevice, copyToHost, copyDevice, zero,
//                  synchronize, tokenLogprobs, sequenceLogprobs, dpoLoss }
void ipo_register_cuda(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("status", Napi::Function::New(env, Status, "status"));
  cuda.Set("devices", Napi::Function::New(env, Devices, "devices"));
  cuda.Set("malloc", Napi::Function::New(env, Malloc, "malloc"));
  cuda.Set("free", Napi::Function::New(env, Free, "free"));
  cuda.Set("copyToDevice", Napi::Function::New(env, CopyToDevice, "copyToDevice"));
  cuda.Set("copyToHost", Napi::Function::New(env, CopyToHost, "copyToHost"));
  cuda.Set("copyDevice", Napi::Function::New(env, CopyDevice, "copyDevice"));
  cuda.Set("zero", Napi::Function::New(env, Zero, "zero"));
  cuda.Set("synchronize", Napi::Function::New(env, Synchronize, "synchronize"));
  cuda.Set("tokenLogprobs", Napi::Function::New(env, TokenLogprobs, "tokenLogprobs"));
  cuda.Set("sequenceLogprobs", Napi::Function::New(env, SequenceLogprobs, "sequenceLogprobs"));
  cuda.Set("dpoLoss", Napi::Function::New(env, DpoLoss, "dpoLoss"));
  exports.Set("cuda", cuda);
}
