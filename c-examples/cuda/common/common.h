/* The helpers "Professional CUDA C Programming" examples include as
 * "../common/common.h": CHECK() aborts with the CUDA error's message when a
 * runtime call fails. Written for accelmem's examples and the seed tests. */
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

#endif
