/*
 * bandwidth.c: host-to-device, device-to-host and device-to-device copy
 * bandwidth for pageable (malloc) and pinned (cudaMallocHost) host memory,
 * timed with CUDA events, in the manner of NVIDIA's bandwidthTest, and
 * checked: after every timed copy the bytes that arrived are compared with
 * the bytes that were sent, so a fast but wrong copy fails.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I include bandwidth.c -laccelmem
 *
 * Exits 1 on any failed call or wrong byte.
 */
#include "../common/common.h"

#include <stdint.h>

#define SIZE ((size_t)32 << 20)
#define REPS 4

/* A pattern that differs per byte and per `seed`, so stale data from an
 * earlier copy never matches. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i += 4) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        for (size_t k = 0; k < 4 && i + k < n; k++) {
            p[i + k] = (unsigned char)(x >> (8 * k));
        }
    }
}

/* `got` must equal `want`; names the first wrong byte. */
static void verify(const unsigned char *got, const unsigned char *want, size_t n, const char *what)
{
    if (memcmp(got, want, n) != 0) {
        size_t i = 0;
        while (got[i] == want[i]) {
            i++;
        }
        fprintf(stderr, "FAILED: %s: byte %zu is 0x%02x, expected 0x%02x\n", what, i, got[i], want[i]);
        exit(1);
    }
}

static void all_bytes(const unsigned char *p, size_t n, unsigned char v, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        EXPECT(p[i] == v, "%s: byte %zu is 0x%02x, expected 0x%02x", what, i, p[i], v);
    }
}

/* Time REPS copies of SIZE bytes between two events on `stream` (with
 * cudaMemcpyAsync when `stream` is not NULL, else cudaMemcpy) and print
 * the bandwidth. */
static void timed_copy(const char *label, void *dst, const void *src, enum cudaMemcpyKind kind,
                       cudaStream_t stream, cudaEvent_t start, cudaEvent_t stop)
{
    float ms = -1.0f;

    CHECK(cudaEventRecord(start, stream));
    for (int r = 0; r < REPS; r++) {
        if (stream != NULL) {
            CHECK(cudaMemcpyAsync(dst, src, SIZE, kind, stream));
        } else {
            CHECK(cudaMemcpy(dst, src, SIZE, kind));
        }
    }
    CHECK(cudaEventRecord(stop, stream));
    CHECK(cudaEventSynchronize(stop));
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    EXPECT(ms >= 0.0f, "%s: cudaEventElapsedTime gave %f ms", label, (double)ms);
    /* An elapsed time of 0 (a coarse clock) would print infinity. */
    const double sec = (ms > 0.0f ? ms : 1e-3f) * 1e-3;
    printf("%-9s %-4s %d x %zu MiB in %8.3f ms: %8.2f GB/s", label,
           kind == cudaMemcpyHostToDevice   ? "H2D"
           : kind == cudaMemcpyDeviceToHost ? "D2H"
                                            : "D2D",
           REPS, SIZE >> 20, (double)ms, (double)SIZE * REPS / sec / 1e9);
}

/* One pass: H2D, D2H and D2D through host buffers `h_src`/`h_dst` (pageable
 * or pinned) and device buffers `d_a`/`d_b`. */
static void pass(const char *label, unsigned char *h_src, unsigned char *h_dst, unsigned char *d_a,
                 unsigned char *d_b, cudaStream_t stream, uint32_t seed)
{
    cudaEvent_t start, stop;
    unsigned char *expect_a = malloc(SIZE);

    EXPECT(expect_a != NULL, "malloc");
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));

    /* H2D, then read d_a back (untimed) to see what arrived. */
    fill(h_src, SIZE, seed);
    timed_copy(label, d_a, h_src, cudaMemcpyHostToDevice, stream, start, stop);
    memset(h_dst, 0, SIZE);
    CHECK(cudaMemcpy(h_dst, d_a, SIZE, cudaMemcpyDeviceToHost));
    verify(h_dst, h_src, SIZE, "H2D");
    memcpy(expect_a, h_src, SIZE);
    printf(", verified\n");

    /* D2H into a host buffer holding other bytes. */
    fill(h_dst, SIZE, seed + 1000);
    fill(h_src, SIZE, seed + 2000); /* the source must not matter any more */
    timed_copy(label, h_dst, d_a, cudaMemcpyDeviceToHost, stream, start, stop);
    verify(h_dst, expect_a, SIZE, "D2H");
    printf(", verified\n");

    /* D2D; then overwrite d_a, so d_b is shown to hold its own copy. */
    CHECK(cudaMemset(d_b, 0x11, SIZE));
    timed_copy(label, d_b, d_a, cudaMemcpyDeviceToDevice, stream, start, stop);
    CHECK(cudaMemset(d_a, 0xa5, SIZE));
    memset(h_dst, 0, SIZE);
    CHECK(cudaMemcpy(h_dst, d_b, SIZE, cudaMemcpyDeviceToHost));
    verify(h_dst, expect_a, SIZE, "D2D");
    CHECK(cudaMemcpy(h_dst, d_a, SIZE, cudaMemcpyDeviceToHost));
    all_bytes(h_dst, SIZE, 0xa5, "cudaMemset(d_a, 0xa5) after D2D");
    printf(", verified\n");

    /* Unaligned offsets and odd lengths land where they should. */
    const size_t off_h = 17, off_d = 4093, n = (1u << 20) + 3;
    fill(h_src, SIZE, seed + 3000);
    CHECK(cudaMemcpy(d_b + off_d, h_src + off_h, n, cudaMemcpyHostToDevice));
    memset(h_dst, 0, SIZE);
    CHECK(cudaMemcpy(h_dst, d_b, SIZE, cudaMemcpyDeviceToHost));
    verify(h_dst, expect_a, off_d, "bytes before an offset H2D");
    verify(h_dst + off_d, h_src + off_h, n, "offset H2D");
    verify(h_dst + off_d + n, expect_a + off_d + n, SIZE - off_d - n, "bytes after an offset H2D");
    printf("%-9s unaligned H2D of %zu bytes at device offset %zu: verified, neighbours untouched\n", label, n,
           off_d);

    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    free(expect_a);
}

int main(void)
{
    struct cudaDeviceProp prop;
    unsigned char *d_a = NULL, *d_b = NULL, *p_src = NULL, *p_dst = NULL;
    cudaStream_t stream;

    CHECK(cudaSetDevice(0));
    CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("bandwidth: device 0: %s, %zu MiB per copy, %d copies per measurement\n", prop.name, SIZE >> 20,
           REPS);

    CHECK(cudaMalloc((void **)&d_a, SIZE));
    CHECK(cudaMalloc((void **)&d_b, SIZE));

    /* Pageable host memory, synchronous cudaMemcpy on the default stream. */
    unsigned char *h_src = malloc(SIZE), *h_dst = malloc(SIZE);
    EXPECT(h_src != NULL && h_dst != NULL, "malloc");
    pass("pageable", h_src, h_dst, d_a, d_b, NULL, 1);
    free(h_src);
    free(h_dst);

    /* Pinned host memory, cudaMemcpyAsync on a stream, as bandwidthTest does. */
    CHECK(cudaMallocHost((void **)&p_src, SIZE));
    CHECK(cudaMallocHost((void **)&p_dst, SIZE));
    CHECK(cudaStreamCreate(&stream));
    pass("pinned", p_src, p_dst, d_a, d_b, stream, 2);

    /* cudaMemcpyDefault infers the direction from the addresses. */
    fill(p_src, SIZE, 3);
    CHECK(cudaMemcpy(d_a, p_src, SIZE, cudaMemcpyDefault));
    CHECK(cudaMemcpy(d_b, d_a, SIZE, cudaMemcpyDefault));
    memset(p_dst, 0, SIZE);
    CHECK(cudaMemcpy(p_dst, d_b, SIZE, cudaMemcpyDefault));
    verify(p_dst, p_src, SIZE, "cudaMemcpyDefault round trip");
    printf("cudaMemcpyDefault H2D, D2D, D2H round trip: verified\n");

    CHECK(cudaStreamDestroy(stream));
    CHECK(cudaFreeHost(p_src));
    CHECK(cudaFreeHost(p_dst));
    CHECK(cudaFree(d_a));
    CHECK(cudaFree(d_b));
    printf("bandwidth: all steps passed\n");
    return 0;
}
