/*
 * typed_alloc.cpp: the C++ conveniences of cuda_runtime.h, as CUDA C++ code
 * uses them without casts:
 *   - typed templates: cudaMalloc(&float_ptr, bytes), cudaMallocPitch,
 *     cudaMallocManaged (default flags), cudaMallocAsync,
 *     cudaHostGetDevicePointer;
 *   - overloads: cudaMallocHost(&p, bytes, flags) (= cudaHostAlloc) and
 *     cudaEventCreate(&e, flags) (= cudaEventCreateWithFlags);
 *   - default arguments: the stream of cudaMemcpyAsync, cudaMemsetAsync
 *     and cudaEventRecord.
 * Each one is checked for its effect, not only for compiling.
 *
 *   c++ -std=c++17 -Wall -Wextra -Werror -I include typed_alloc.cpp -laccelmem
 *
 * Exits 1 on any failed call or wrong value.
 */
#include "../common/common.h"

#include <cstdint>
#include <vector>

int main()
{
    const size_t n = 1 << 18;
    const size_t bytes = n * sizeof(float);

    CHECK(cudaSetDevice(0));

    // Typed cudaMalloc and the pinned, mapped cudaMallocHost overload.
    float *d = nullptr;
    CHECK(cudaMalloc(&d, bytes));
    float *h = nullptr;
    CHECK(cudaMallocHost(&h, bytes, cudaHostAllocMapped));
    unsigned int flags = 0;
    CHECK(cudaHostGetFlags(&flags, h));
    EXPECT((flags & cudaHostAllocMapped) != 0, "cudaHostGetFlags = %#x: the flags did not reach cudaHostAlloc", flags);
    float *hd = nullptr;
    CHECK(cudaHostGetDevicePointer(&hd, h, 0));
    EXPECT(hd == h, "mapped memory's device pointer %p differs from %p under unified addressing", (void *)hd, (void *)h);
    printf("typed_alloc: cudaMalloc(&float*, %zu), cudaMallocHost(&float*, %zu, cudaHostAllocMapped): flags %#x, "
           "device pointer == host pointer\n",
           bytes, bytes, flags);

    // cudaMallocHost(&p, bytes) with the default flags is plain pinned memory.
    double *h_default = nullptr;
    CHECK(cudaMallocHost(&h_default, 16 * sizeof(double)));
    CHECK(cudaHostGetFlags(&flags, h_default));
    EXPECT(flags == 0, "cudaMallocHost(&p, n) gave flags %#x", flags);
    CHECK(cudaFreeHost(h_default));

    // The flags overload of cudaEventCreate: a timing-disabled event cannot be timed.
    cudaEvent_t start, stop, marker;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaEventCreate(&marker, cudaEventDisableTiming));

    // cudaMemcpyAsync / cudaMemsetAsync / cudaEventRecord without a stream argument.
    for (size_t i = 0; i < n; i++) {
        h[i] = 0.5f * (float)i;
    }
    CHECK(cudaEventRecord(start));
    CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemsetAsync(d + n / 2, 0, bytes / 2));
    std::vector<float> back(n, -1.0f);
    CHECK(cudaMemcpyAsync(back.data(), d, bytes, cudaMemcpyDeviceToHost));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventRecord(marker));
    CHECK(cudaEventSynchronize(stop));
    for (size_t i = 0; i < n; i++) {
        const float want = i < n / 2 ? 0.5f * (float)i : 0.0f;
        EXPECT(back[i] == want, "element %zu is %f, expected %f", i, (double)back[i], (double)want);
    }
    float ms = -1.0f;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    EXPECT(ms >= 0.0f, "elapsed %f ms", (double)ms);
    EXPECT_ERROR(cudaEventElapsedTime(&ms, start, marker), cudaErrorInvalidResourceHandle);
    printf("cudaMemcpyAsync/cudaMemsetAsync/cudaEventRecord on the default stream: %zu floats verified in %.3f ms; "
           "cudaEventCreate(&e, cudaEventDisableTiming) event cannot be timed\n",
           n, (double)ms);

    // Typed cudaMallocPitch: an 100 x 8 float image.
    float *img = nullptr;
    size_t pitch = 0;
    CHECK(cudaMallocPitch(&img, &pitch, 100 * sizeof(float), 8));
    EXPECT(pitch >= 100 * sizeof(float), "pitch %zu", pitch);
    CHECK(cudaMemcpy2D(img, pitch, h, 100 * sizeof(float), 100 * sizeof(float), 8, cudaMemcpyHostToDevice));
    std::vector<float> img_back(800, -1.0f);
    CHECK(cudaMemcpy2D(img_back.data(), 100 * sizeof(float), img, pitch, 100 * sizeof(float), 8,
                       cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < 800; i++) {
        EXPECT(img_back[i] == h[i], "image element %zu", i);
    }
    printf("cudaMallocPitch(&float*, ...): pitch %zu, 2D round trip verified\n", pitch);

    // Typed cudaMallocManaged with its default flags: usable from the host.
    int *m = nullptr;
    CHECK(cudaMallocManaged(&m, 64 * sizeof(int)));
    for (int i = 0; i < 64; i++) {
        m[i] = i * i;
    }
    int *dm = nullptr;
    CHECK(cudaMalloc(&dm, 64 * sizeof(int)));
    CHECK(cudaMemcpy(dm, m, 64 * sizeof(int), cudaMemcpyDefault));
    CHECK(cudaMemset(m, 0, 64 * sizeof(int)));
    CHECK(cudaMemcpy(m, dm, 64 * sizeof(int), cudaMemcpyDefault));
    CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < 64; i++) {
        EXPECT(m[i] == i * i, "managed element %d is %d", i, m[i]);
    }
    cudaPointerAttributes attr;
    CHECK(cudaPointerGetAttributes(&attr, m));
    EXPECT(attr.type == cudaMemoryTypeManaged, "managed memory has type %d", (int)attr.type);
    printf("cudaMallocManaged(&int*, ...): host writes, device copies and host reads agree\n");

    // Typed cudaMallocAsync on a stream.
    cudaStream_t s;
    CHECK(cudaStreamCreate(&s));
    uint16_t *a = nullptr;
    CHECK(cudaMallocAsync(&a, 1000 * sizeof(uint16_t), s));
    CHECK(cudaMemsetAsync(a, 0xff, 1000 * sizeof(uint16_t), s));
    std::vector<uint16_t> a_back(1000, 0);
    CHECK(cudaMemcpyAsync(a_back.data(), a, 1000 * sizeof(uint16_t), cudaMemcpyDeviceToHost, s));
    CHECK(cudaFreeAsync(a, s));
    CHECK(cudaStreamSynchronize(s));
    for (uint16_t v : a_back) {
        EXPECT(v == 0xffff, "async element %u", (unsigned)v);
    }
    CHECK(cudaStreamDestroy(s));
    printf("cudaMallocAsync(&uint16_t*, ...): verified\n");

    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    CHECK(cudaEventDestroy(marker));
    CHECK(cudaFree(img));
    CHECK(cudaFree(m));
    CHECK(cudaFree(dm));
    CHECK(cudaFree(d));
    CHECK(cudaFreeHost(h));
    printf("typed_alloc: all steps passed\n");
    return 0;
}
