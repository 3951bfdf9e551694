# Sourced by the scripts that install llama-cpp-python (built from source).
# llama.cpp's native build enables its AMX kernels on CPUs that have them,
# and with those llama-cpp-python 0.3.36 crashes (SIGSEGV) on any batch of
# more than one token on this project's machines; so the build is not
# native: it enables the x86 extensions this CPU reports (/proc/cpuinfo),
# AMX never (an AVX-512 build on a CPU without it dies of SIGILL). Applies
# to a fresh install only: an existing one is kept (reinstall with
# `pip install --force-reinstall --no-deps llama-cpp-python`).
llama_cpp_flags() {
  local flags cpu
  cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  has() { [[ " $cpu " == *" $1 "* ]] && echo ON || echo OFF; }
  flags="-DGGML_NATIVE=OFF -DGGML_AVX=$(has avx) -DGGML_AVX2=$(has avx2) -DGGML_FMA=$(has fma)"
  flags+=" -DGGML_F16C=$(has f16c) -DGGML_AVX512=$(has avx512f) -DGGML_AVX512_VBMI=$(has avx512vbmi)"
  flags+=" -DGGML_AVX512_VNNI=$(has avx512_vnni) -DGGML_AVX_VNNI=$(has avx_vnni)"
  flags+=" -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"
  echo "$flags"
}
export CMAKE_ARGS="${CMAKE_ARGS:-$(llama_cpp_flags)}"
# pip's wheel cache keys a source build by its version, not by CMAKE_ARGS:
# a wheel built elsewhere with other extensions (seen: an AVX-512 build
# from an earlier machine, SIGILL in ggml_cpu_init) would be reused.
export PIP_NO_CACHE_DIR=1
