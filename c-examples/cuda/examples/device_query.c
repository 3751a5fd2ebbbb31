/*
 * device_query.c: what the CUDA runtime says about each device, in the
 * manner of NVIDIA's deviceQuery sample, cross-checked: the memory-related
 * cudaDeviceGetAttribute values must equal the cudaDeviceProp fields, and
 * cudaMemGetInfo must agree with totalGlobalMem and follow an allocation.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I include device_query.c -laccelmem
 *
 * Exits 1 on any failed call or wrong value.
 */
#include "../common/common.h"

#include <stdint.h>

static int attribute(enum cudaDeviceAttr attr, int dev)
{
    int v = -1;
    CHECK(cudaDeviceGetAttribute(&v, attr, dev));
    return v;
}

/* cudaDeviceGetAttribute(`attr`) must equal the property `prop`. */
#define SAME(attr, prop)                                                      \
    do {                                                                      \
        const long long a_ = attribute(attr, dev);                            \
        EXPECT(a_ == (long long)(prop), "%s = %lld but %s = %lld", #attr, a_, \
               #prop, (long long)(prop));                                     \
    } while (0)

/* UUIDs seen so far: each device's must be different. */
static cudaUUID_t uuids[64];

static void query(int dev)
{
    struct cudaDeviceProp p;
    int current = -1;
    size_t free_b = 0, total_b = 0, free_alloc = 0, free_again = 0;
    void *d = NULL;
    const size_t big = 64u << 20;

    memset(&p, 0xff, sizeof p);
    CHECK(cudaSetDevice(dev));
    CHECK(cudaGetDevice(&current));
    EXPECT(current == dev, "cudaGetDevice = %d after cudaSetDevice(%d)", current, dev);
    CHECK(cudaGetDeviceProperties(&p, dev));
    EXPECT(memchr(p.name, '\0', sizeof p.name) != NULL && p.name[0] != '\0', "name is not a C string");

    printf("\nDevice %d: \"%s\"\n", dev, p.name);
    printf("  CUDA Capability Major/Minor version number:    %d.%d\n", p.major, p.minor);
    printf("  Total amount of global memory:                 %.0f MBytes (%zu bytes)\n",
           (double)p.totalGlobalMem / 1048576.0, p.totalGlobalMem);
    printf("  Multiprocessors:                               %d\n", p.multiProcessorCount);
    printf("  GPU Max Clock rate:                            %.0f MHz\n", p.clockRate * 1e-3);
    printf("  Memory Clock rate:                             %.0f MHz\n", p.memoryClockRate * 1e-3);
    printf("  Memory Bus Width:                              %d-bit\n", p.memoryBusWidth);
    printf("  L2 Cache Size:                                 %d bytes\n", p.l2CacheSize);
    printf("  Total amount of constant memory:               %zu bytes\n", p.totalConstMem);
    printf("  Total amount of shared memory per block:       %zu bytes\n", p.sharedMemPerBlock);
    printf("  Total shared memory per multiprocessor:        %zu bytes\n", p.sharedMemPerMultiprocessor);
    printf("  Total number of registers available per block: %d\n", p.regsPerBlock);
    printf("  Warp size:                                     %d\n", p.warpSize);
    printf("  Maximum number of threads per multiprocessor:  %d\n", p.maxThreadsPerMultiProcessor);
    printf("  Maximum number of threads per block:           %d\n", p.maxThreadsPerBlock);
    printf("  Max dimension size of a thread block (x,y,z): (%d, %d, %d)\n", p.maxThreadsDim[0],
           p.maxThreadsDim[1], p.maxThreadsDim[2]);
    printf("  Max dimension size of a grid size    (x,y,z): (%d, %d, %d)\n", p.maxGridSize[0],
           p.maxGridSize[1], p.maxGridSize[2]);
    printf("  Maximum memory pitch:                          %zu bytes\n", p.memPitch);
    printf("  Texture alignment:                             %zu bytes\n", p.textureAlignment);
    printf("  Concurrent copy and kernel execution:          %s with %d copy engine(s)\n",
           p.deviceOverlap ? "Yes" : "No", p.asyncEngineCount);
    printf("  Run time limit on kernels:                     %s\n", p.kernelExecTimeoutEnabled ? "Yes" : "No");
    printf("  Integrated GPU sharing Host Memory:            %s\n", p.integrated ? "Yes" : "No");
    printf("  Support host page-locked memory mapping:       %s\n", p.canMapHostMemory ? "Yes" : "No");
    printf("  Device has ECC support:                        %s\n", p.ECCEnabled ? "Enabled" : "Disabled");
    printf("  Device supports Unified Addressing (UVA):      %s\n", p.unifiedAddressing ? "Yes" : "No");
    printf("  Device supports Managed Memory:                %s\n", p.managedMemory ? "Yes" : "No");
    printf("  Device supports Memory Pools:                  %s\n", p.memoryPoolsSupported ? "Yes" : "No");
    printf("  Device PCI Domain ID / Bus ID / location ID:   %d / %d / %d\n", p.pciDomainID, p.pciBusID,
           p.pciDeviceID);
    printf("  Compute Mode:                                  %d\n", p.computeMode);
    printf("  UUID:                                          ");
    for (size_t i = 0; i < sizeof p.uuid.bytes; i++) {
        printf("%02x", (unsigned)(unsigned char)p.uuid.bytes[i]);
    }
    printf("\n");
    for (int i = 0; i < dev && i < 64; i++) {
        EXPECT(memcmp(&uuids[i], &p.uuid, sizeof p.uuid) != 0, "devices %d and %d have the same UUID", i, dev);
    }
    if (dev < 64) {
        uuids[dev] = p.uuid;
    }

    /* Values a memory-using program relies on. */
    EXPECT(p.totalGlobalMem > 0, "totalGlobalMem is 0");
    EXPECT(p.major >= 1 && p.minor >= 0, "compute capability %d.%d", p.major, p.minor);
    EXPECT(p.warpSize == 32, "warpSize %d", p.warpSize);
    EXPECT(p.memPitch >= 65536, "memPitch %zu", p.memPitch);
    EXPECT(p.textureAlignment > 0 && (p.textureAlignment & (p.textureAlignment - 1)) == 0,
           "textureAlignment %zu is not a power of two", p.textureAlignment);

    /* The attribute API and the struct describe the same device. */
    SAME(cudaDevAttrComputeCapabilityMajor, p.major);
    SAME(cudaDevAttrTotalConstantMemory, p.totalConstMem);
    SAME(cudaDevAttrMaxSharedMemoryPerBlock, p.sharedMemPerBlock);
    SAME(cudaDevAttrMaxPitch, p.memPitch);
    SAME(cudaDevAttrTextureAlignment, p.textureAlignment);
    SAME(cudaDevAttrTexturePitchAlignment, p.texturePitchAlignment);
    SAME(cudaDevAttrMemoryClockRate, p.memoryClockRate);
    SAME(cudaDevAttrGlobalMemoryBusWidth, p.memoryBusWidth);
    SAME(cudaDevAttrL2CacheSize, p.l2CacheSize);
    SAME(cudaDevAttrIntegrated, p.integrated);
    SAME(cudaDevAttrCanMapHostMemory, p.canMapHostMemory);
    SAME(cudaDevAttrUnifiedAddressing, p.unifiedAddressing);
    SAME(cudaDevAttrManagedMemory, p.managedMemory);
    SAME(cudaDevAttrMemoryPoolsSupported, p.memoryPoolsSupported);
    printf("  cudaDeviceGetAttribute agrees with cudaDeviceProp: 14 attributes\n");

    /* cudaMemGetInfo: the same total, and free memory follows cudaMalloc. */
    CHECK(cudaMemGetInfo(&free_b, &total_b));
    printf("  cudaMemGetInfo: free %zu, total %zu bytes\n", free_b, total_b);
    EXPECT(total_b == p.totalGlobalMem, "cudaMemGetInfo total %zu != totalGlobalMem %zu", total_b,
           p.totalGlobalMem);
    EXPECT(free_b <= total_b && free_b >= big, "free %zu of total %zu", free_b, total_b);
    CHECK(cudaMalloc(&d, big));
    CHECK(cudaMemGetInfo(&free_alloc, &total_b));
    CHECK(cudaFree(d));
    CHECK(cudaMemGetInfo(&free_again, &total_b));
    printf("  cudaMemGetInfo after cudaMalloc(64 MiB): free %zu; after cudaFree: free %zu\n", free_alloc,
           free_again);
    EXPECT(free_alloc + big <= free_b, "free memory fell by %zu bytes only for a 64 MiB cudaMalloc",
           free_b - free_alloc);
    EXPECT(free_again == free_b, "free memory %zu after cudaFree, %zu before cudaMalloc", free_again, free_b);
}

int main(void)
{
    int count = -1, runtime = -1, driver = -1;

    printf("device_query: CUDA Device Query (Runtime API)\n");
    CHECK(cudaRuntimeGetVersion(&runtime));
    CHECK(cudaDriverGetVersion(&driver));
    printf("CUDA Driver Version / Runtime Version:          %d.%d / %d.%d\n", driver / 1000,
           (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
    EXPECT(runtime / 1000 == CUDART_VERSION / 1000, "runtime %d, headers %d", runtime, CUDART_VERSION);

    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        /* What CUDA answers on a machine without a usable GPU. */
        printf("There are no available device(s) that support CUDA (%s)\n", cudaGetErrorName(e));
        EXPECT(cudaGetLastError() == e, "cudaGetLastError() after cudaGetDeviceCount");
        printf("device_query: all steps passed\n");
        return 0;
    }
    CHECK(e);
    EXPECT(count > 0, "cudaGetDeviceCount succeeded with count %d", count);
    EXPECT(driver > 0, "driver version %d with a device present", driver);
    printf("Detected %d CUDA Capable device(s)\n", count);

    for (int dev = 0; dev < count; dev++) {
        query(dev);
    }

    /* One past the last device is no device. */
    struct cudaDeviceProp p;
    int v = 0;
    EXPECT_ERROR(cudaGetDeviceProperties(&p, count), cudaErrorInvalidDevice);
    EXPECT_ERROR(cudaDeviceGetAttribute(&v, cudaDevAttrTotalConstantMemory, count), cudaErrorInvalidDevice);
    EXPECT_ERROR(cudaSetDevice(count), cudaErrorInvalidDevice);
    printf("\ndevice %d (one past the last): cudaErrorInvalidDevice, as expected\n", count);
    printf("device_query: all steps passed\n");
    return 0;
}
