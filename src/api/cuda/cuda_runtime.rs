//! `cuda_runtime.h`: the C++ conveniences over `cuda_runtime_api.h`
//! (typed `cudaMalloc`, three-argument `cudaMallocHost`, two-argument
//! `cudaEventCreate`). The header's text is written in tests/headers.rs;
//! this module only anchors it.
