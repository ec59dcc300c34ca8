// A fake CUDA build of the addon, for testing the TypeScript side of the CUDA path on a machine
// without a GPU. It has the shape of ipo_cuda.node: the CPU functions (those of the real CPU build,
// re-exported) plus `cuda`, whose "device memory" is host memory kept in a Map by fake address.
// It keeps the C ABI's contract (native/include/ipo_cuda.h) where the wrapper depends on it:
//   - malloc(device, bytes, zeroed): memory holds garbage (0xA5 bytes) unless zeroed, like cudaMalloc;
//   - dpoLoss(..., { grad, gradIsZeroed }): the gradient of every scored row is written; unscored rows
//     are written as zeros unless gradIsZeroed, in which case they are not touched at all;
//     gradIsZeroed with grad == logits is refused (IPO_ERR_TYPE), as the C ABI does.
// The gradient values come from the real CPU kernels on a host copy of the fake device logits, so a
// test can compare them with the float64 reference. Only float32 logits are emulated.
// Every call is recorded in `cuda.calls` for the tests' assertions. Loaded through the package's
// own loader with IPO_ADDON_PATH, which is how the loader's handling of that variable is tested too.
'use strict';
const path = require('node:path');

const cpu = require(process.env.IPO_FAKE_CPU_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'ipo.node'));

const memory = new Map(); // address (bigint) -> { bytes: Uint8Array, device }
let next = 0x10000n;
const calls = [];

function coded(message, code, argument) {
  const err = new Error(message);
  err.code = code;
  if (argument) err.argument = argument;
  return err;
}

function block(pointer, name) {
  const b = memory.get(pointer);
  if (!b) throw coded(`${name} is not a fake device allocation (${pointer})`, 'IPO_ERR_TYPE', name);
  return b;
}

const cuda = {
  calls,
  memory,
  status() {
    if (process.env.IPO_FAKE_NO_DEVICE === '1')
      return { available: false, reason: 'no CUDA device is present (fake)', deviceCount: 0, runtimeVersion: 13000, driverVersion: 0 };
    return { available: true, reason: '', deviceCount: 2, runtimeVersion: 13000, driverVersion: 13000 };
  },
  devices() {
    if (process.env.IPO_FAKE_NO_DEVICE === '1') return [];
    return [0, 1].map((ordinal) => ({
      ordinal,
      name: 'Fake Device',
      computeCapability: '9.0',
      multiprocessors: 1,
      totalMemoryBytes: 1 << 30,
      l2CacheBytes: 0,
      sharedMemoryPerBlockOptin: 0,
      memoryBusWidthBits: 0,
    }));
  },
  malloc(device, bytes, zeroed) {
    calls.push({ fn: 'malloc', device, bytes, zeroed });
    const pointer = next;
    next += BigInt(Math.ceil(bytes / 256) * 256 + 256);
    memory.set(pointer, { bytes: new Uint8Array(bytes).fill(zeroed ? 0 : 0xa5), device });
    return pointer;
  },
  free(pointer) {
    calls.push({ fn: 'free', pointer });
    memory.delete(pointer);
  },
  copyToDevice(pointer, source) {
    block(pointer, 'pointer').bytes.set(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
  },
  copyToHost(pointer, target) {
    const b = block(pointer, 'pointer');
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(b.bytes.subarray(0, target.byteLength));
  },
  synchronize(stream, device) {
    calls.push({ fn: 'synchronize', stream, device });
  },
  dpoLoss(input, options, stream) {
    calls.push({ fn: 'dpoLoss', input, options, stream });
    if (input.dtype !== 'float32') throw new Error('the fake device emulates float32 logits only');
    const x = block(input.logits, 'logits');
    const logits = new Float32Array(x.bytes.buffer.slice(0));
    const labels = typeof input.labels === 'bigint' ? new Int32Array(block(input.labels, 'labels').bytes.buffer.slice(0)) : input.labels;
    if (options.grad !== null && options.grad === input.logits && options.gradIsZeroed)
      throw coded('gradIsZeroed cannot be set for an in-place gradient', 'IPO_ERR_TYPE', 'gradIsZeroed');
    const { gradLogits, ...stats } = cpu.dpoLoss(
      { logits, seqLen: input.seqLen, vocab: input.vocab, labels, refLogps: input.refLogps },
      { beta: options.beta, lossType: options.lossType, labelSmoothing: options.labelSmoothing, sftWeight: options.sftWeight },
    );
    if (options.grad !== null) {
      const g = new Float32Array(block(options.grad, 'grad').bytes.buffer);
      for (let row = 0; row < labels.length; ++row) {
        const at = row * input.vocab;
        if (labels[row] !== -100) g.set(gradLogits.subarray(at, at + input.vocab), at);
        else if (!options.gradIsZeroed) g.fill(0, at, at + input.vocab);
      }
    }
    return stats;
  },
};

module.exports = { ...cpu, cuda };
