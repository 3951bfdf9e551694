# Sourced by the scripts that install llama-cpp-python (built from source).
# llama.cpp's native build enables its AMX kernels on CPUs that have them,
# and with those llama-cpp-python 0.3.36 crashes (SIGSEGV) on any batch of
# more than one token on this project's machines; built for AVX2/AVX-512/
# VNNI without AMX it runs. Applies to a fresh install only: an existing
# one is kept (reinstall with `pip install --force-reinstall --no-deps`).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX_VNNI=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF}"
