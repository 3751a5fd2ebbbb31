/* The helpers "Professional CUDA C Programming" examples include as
 * "../common/common.h": CHECK() aborts with the CUDA error's message when a
 * runtime call fails. Written for accelmem's examples and the seed tests;
 * valid C and C++. */
#ifndef ACCELMEM_CUDA_COMMON_H
#define ACCELMEM_CUDA_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <cuda_runtime.h>

#define CHECK(call)                                                          \
    do {                                                                     \
        const cudaError_t error_ = (call);                                   \
        if (error_ != cudaSuccess) {                                         \
            fprintf(stderr, "Error: %s:%d, ", __FILE__, __LINE__);           \
            fprintf(stderr, "code: %d, reason: %s\n", (int)error_,           \
                    cudaGetErrorString(error_));                             \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static inline double seconds(void) {
    struct timeval tp;
    gettimeofday(&tp, NULL);
    return (double)tp.tv_sec + (double)tp.tv_usec * 1.e-6;
}

/* accelmem's examples: exit(1) with "FAILED: ..." on stderr unless `cond`
 * holds; the rest of the arguments are a printf message. */
#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAILED: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* `call` must fail with exactly `want`; the error is then consumed, so
 * cudaGetLastError() must return it once and cudaSuccess afterwards. */
#define EXPECT_ERROR(call, want)                                             \
    do {                                                                     \
        const cudaError_t got_ = (call);                                     \
        EXPECT(got_ == (want), "%s returned %d (%s), expected %d (%s)",      \
               #call, (int)got_, cudaGetErrorName(got_), (int)(want),        \
               cudaGetErrorName(want));                                      \
        const cudaError_t last_ = cudaGetLastError();                        \
        EXPECT(last_ == (want), "cudaGetLastError() after %s: %d (%s)",      \
               #call, (int)last_, cudaGetErrorName(last_));                  \
        CHECK(cudaGetLastError());                                           \
    } while (0)

#endif
