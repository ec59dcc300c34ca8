# Source build with node-gyp, for users who choose it (`npm run build:gyp`). The primary build is
# CMakeLists.txt (cmake-js); both compile the same CPU sources, and CI builds both so they never drift.
# package.json sets "gypfile": false so npm never runs this implicitly.
{
  "targets": [
    {
      "target_name": "ipo",
      "sources": [
        "native/node/binding.cc",
        "native/core/status.cc",
        "native/core/validate.cc",
        "native/core/dpo_math.cc",
        "native/cpu/thread_pool.cc",
        "native/cpu/simd_dispatch.cc",
        "native/cpu/row_kernels_scalar.cc",
        "native/cpu/row_pass.cc",
        "native/cpu/logprobs.cc",
        "native/cpu/dpo_loss.cc",
        "native/cpu/pages.cc",
        "native/cpu/grad_pool.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "IPO_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fvisibility=hidden"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["target_arch=='x64'", { "sources": ["native/cpu/row_kernels_avx2.cc", "native/cpu/row_kernels_avx512.cc", "native/cpu/row_kernels_avx512bf16.cc"] }],
        ["target_arch=='arm64'", { "sources": ["native/cpu/row_kernels_neon.cc"] }]
      ]
    }
  ]
}
