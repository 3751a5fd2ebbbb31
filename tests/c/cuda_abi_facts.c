/* The CUDA 12.x runtime ABI facts of /work/shared/reference/cuda.md (§1.1,
 * §1.2, §1.4, §1.6, §1.7, §1.9), asserted against accelmem's headers at
 * compile time. Built as C11 and as C++11 by tests/cuda_abi.rs with -Wall
 * -Wextra -Werror -Wpedantic, once more with CUDA_API_PER_THREAD_DEFAULT_STREAM,
 * and (C++ only) with CUDA_ABI_ENUM_FIELDS. Layouts are the LP64 ones. */
#include <cuda_runtime_api.h>
#include <cuda_runtime.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cuda-samples' helper_cuda.h keys off these include guards (§1.3). */
#ifndef __DRIVER_TYPES_H__
#error "driver_types.h must define __DRIVER_TYPES_H__"
#endif
#ifndef __CUDA_RUNTIME_H__
#error "cuda_runtime.h must define __CUDA_RUNTIME_H__"
#endif

#ifdef __cplusplus
#include <type_traits>
#define FACT(c) static_assert(c, #c)
#define ALIGNOF(t) alignof(t)
#define SAME_TYPE(a, b) (std::is_same<a, b>::value)
#define FIELD_T(T, f) std::remove_reference<decltype(((T *)0)->f)>::type
#define EXPR_IS(e, t) (std::is_same<decltype(e), t>::value)
#else
#define FACT(c) _Static_assert(c, #c)
#define ALIGNOF(t) _Alignof(t)
/* Pointer types compare exactly: int, unsigned int, long differ. */
#define SAME_TYPE(a, b) _Generic((a *)0, b *: 1, default: 0)
#define FIELD_T(T, f) __typeof__(((T *)0)->f)
#define EXPR_IS(e, t) _Generic((e), t: 1, default: 0)
#endif

/* A scalar field at `off` of type `ty`; an array field of `n` `ty`s. */
#define FIELD(T, f, off, ty) \
    FACT(offsetof(T, f) == (off)); \
    FACT(SAME_TYPE(FIELD_T(T, f), ty))
#define ARRAY(T, f, off, ty, n) \
    FACT(offsetof(T, f) == (off)); \
    FACT(SAME_TYPE(FIELD_T(T, f[0]), ty)); \
    FACT(sizeof(((T *)0)->f) == (n) * sizeof(ty))

FACT(sizeof(void *) == 8); /* the layouts below are LP64 */

/* Types (§1.1): cudaError_t is the enum, 4 bytes (GCC: unsigned int);
 * handles are pointers to opaque structs. */
FACT(SAME_TYPE(cudaError_t, enum cudaError));
FACT(sizeof(cudaError_t) == 4);
FACT(sizeof(enum cudaMemcpyKind) == 4);
FACT(SAME_TYPE(cudaStream_t, struct CUstream_st *));
FACT(SAME_TYPE(cudaEvent_t, struct CUevent_st *));
FACT(SAME_TYPE(cudaMemPool_t, struct CUmemPoolHandle_st *));
FACT(SAME_TYPE(cudaUUID_t, struct CUuuid_st));
ARRAY(struct CUuuid_st, bytes, 0, char, 16);
FACT(sizeof(cudaUUID_t) == 16);

/* §1.2 */
FACT(cudaMemcpyHostToHost == 0);
FACT(cudaMemcpyHostToDevice == 1);
FACT(cudaMemcpyDeviceToHost == 2);
FACT(cudaMemcpyDeviceToDevice == 3);
FACT(cudaMemcpyDefault == 4);
FACT(cudaMemoryTypeUnregistered == 0);
FACT(cudaMemoryTypeHost == 1);
FACT(cudaMemoryTypeDevice == 2);
FACT(cudaMemoryTypeManaged == 3);
FACT(cudaHostAllocDefault == 0);
FACT(cudaHostAllocPortable == 1);
FACT(cudaHostAllocMapped == 2);
FACT(cudaHostAllocWriteCombined == 4);
FACT(cudaHostRegisterDefault == 0);
FACT(cudaHostRegisterPortable == 1);
FACT(cudaHostRegisterMapped == 2);
FACT(cudaHostRegisterIoMemory == 4);
FACT(cudaHostRegisterReadOnly == 8);
FACT(cudaMemAttachGlobal == 1);
FACT(cudaMemAttachHost == 2);
FACT(cudaMemAttachSingle == 4);
FACT(cudaStreamDefault == 0);
FACT(cudaStreamNonBlocking == 1);
FACT(cudaEventDefault == 0);
FACT(cudaEventBlockingSync == 1);
FACT(cudaEventDisableTiming == 2);
FACT(cudaEventInterprocess == 4);
FACT(cudaEventRecordDefault == 0);
FACT(cudaEventRecordExternal == 1);
FACT(cudaEventWaitDefault == 0);
FACT(cudaEventWaitExternal == 1);
FACT(cudaDeviceScheduleAuto == 0);
FACT(cudaDeviceScheduleSpin == 1);
FACT(cudaDeviceScheduleYield == 2);
FACT(cudaDeviceScheduleBlockingSync == 4);
FACT(cudaDeviceScheduleMask == 7);
FACT(cudaDeviceMapHost == 8);
FACT(cudaDeviceLmemResizeToMax == 16);
FACT(cudaCpuDeviceId == -1);
FACT(cudaInvalidDeviceId == -2);
FACT(CUDART_VERSION == 12090);
/* The stream macros are pointer constants: their type here, their values
 * at run time in main(). */
FACT(EXPR_IS(cudaStreamLegacy, cudaStream_t));
FACT(EXPR_IS(cudaStreamPerThread, cudaStream_t));

/* §1.4: every cudaError named there, by name and value. */
FACT(cudaSuccess == 0);
FACT(cudaErrorInvalidValue == 1);
FACT(cudaErrorMemoryAllocation == 2);
FACT(cudaErrorInitializationError == 3);
FACT(cudaErrorCudartUnloading == 4);
FACT(cudaErrorInvalidConfiguration == 9);
FACT(cudaErrorInvalidPitchValue == 12);
FACT(cudaErrorInvalidSymbol == 13);
FACT(cudaErrorInvalidHostPointer == 16);
FACT(cudaErrorInvalidDevicePointer == 17);
FACT(cudaErrorInvalidMemcpyDirection == 21);
FACT(cudaErrorStubLibrary == 34);
FACT(cudaErrorInsufficientDriver == 35);
FACT(cudaErrorCallRequiresNewerDriver == 36);
FACT(cudaErrorDevicesUnavailable == 46);
FACT(cudaErrorNoDevice == 100);
FACT(cudaErrorInvalidDevice == 101);
FACT(cudaErrorStartupFailure == 127);
FACT(cudaErrorAlreadyMapped == 208);
FACT(cudaErrorNotMapped == 211);
FACT(cudaErrorSharedObjectSymbolNotFound == 302);
FACT(cudaErrorOperatingSystem == 304);
FACT(cudaErrorInvalidResourceHandle == 400);
FACT(cudaErrorIllegalState == 401);
FACT(cudaErrorNotReady == 600);
FACT(cudaErrorIllegalAddress == 700);
FACT(cudaErrorHostMemoryAlreadyRegistered == 712);
FACT(cudaErrorHostMemoryNotRegistered == 713);
FACT(cudaErrorLaunchFailure == 719);
FACT(cudaErrorNotPermitted == 800);
FACT(cudaErrorNotSupported == 801);
FACT(cudaErrorTimeout == 909);
FACT(cudaErrorUnknown == 999);
FACT(cudaErrorApiFailureBase == 10000);

/* cudaDeviceAttr: a sample (tests/cuda_vs_nvidia.rs compares every one
 * with NVIDIA's header). */
FACT(cudaDevAttrMaxThreadsPerBlock == 1);
FACT(cudaDevAttrMaxSharedMemoryPerBlock == 8);
FACT(cudaDevAttrTotalConstantMemory == 9);
FACT(cudaDevAttrWarpSize == 10);
FACT(cudaDevAttrMaxPitch == 11);
FACT(cudaDevAttrClockRate == 13);
FACT(cudaDevAttrMultiProcessorCount == 16);
FACT(cudaDevAttrIntegrated == 18);
FACT(cudaDevAttrCanMapHostMemory == 19);
FACT(cudaDevAttrComputeMode == 20);
FACT(cudaDevAttrPciBusId == 33);
FACT(cudaDevAttrMemoryClockRate == 36);
FACT(cudaDevAttrGlobalMemoryBusWidth == 37);
FACT(cudaDevAttrL2CacheSize == 38);
FACT(cudaDevAttrUnifiedAddressing == 41);
FACT(cudaDevAttrComputeCapabilityMajor == 75);
FACT(cudaDevAttrComputeCapabilityMinor == 76);
FACT(cudaDevAttrManagedMemory == 83);
FACT(cudaDevAttrPageableMemoryAccess == 88);
FACT(cudaDevAttrConcurrentManagedAccess == 89);
FACT(cudaDevAttrMemoryPoolsSupported == 115);
FACT(cudaDevAttrMemoryPoolSupportedHandleTypes == 119);
FACT(cudaDevAttrHostNumaMultinodeIpcSupported == 143);

/* §1.9 */
FACT(cudaMemPoolReuseFollowEventDependencies == 1);
FACT(cudaMemPoolReuseAllowOpportunistic == 2);
FACT(cudaMemPoolReuseAllowInternalDependencies == 3);
FACT(cudaMemPoolAttrReleaseThreshold == 4);
FACT(cudaMemPoolAttrReservedMemCurrent == 5);
FACT(cudaMemPoolAttrReservedMemHigh == 6);
FACT(cudaMemPoolAttrUsedMemCurrent == 7);
FACT(cudaMemPoolAttrUsedMemHigh == 8);
FACT(cudaMemAllocationTypeInvalid == 0);
FACT(cudaMemAllocationTypePinned == 1);
FACT(cudaMemAllocationTypeMax == 0x7FFFFFFF);
FACT(cudaMemLocationTypeInvalid == 0);
FACT(cudaMemLocationTypeDevice == 1);
FACT(cudaMemLocationTypeHost == 2);
FACT(cudaMemLocationTypeHostNuma == 3);
FACT(cudaMemLocationTypeHostNumaCurrent == 4);
FACT(cudaMemHandleTypeNone == 0);
FACT(cudaMemHandleTypePosixFileDescriptor == 1);
FACT(cudaMemHandleTypeWin32 == 2);
FACT(cudaMemHandleTypeWin32Kmt == 4);
FACT(cudaMemHandleTypeFabric == 8);

FACT(sizeof(struct cudaMemLocation) == 8);
FACT(offsetof(struct cudaMemLocation, type) == 0);
FIELD(struct cudaMemLocation, id, 4, int);

FACT(sizeof(struct cudaMemPoolProps) == 88);
FACT(ALIGNOF(struct cudaMemPoolProps) == 8);
FACT(offsetof(struct cudaMemPoolProps, allocType) == 0);
FACT(offsetof(struct cudaMemPoolProps, handleTypes) == 4);
FIELD(struct cudaMemPoolProps, location, 8, struct cudaMemLocation);
FIELD(struct cudaMemPoolProps, win32SecurityAttributes, 16, void *);
FIELD(struct cudaMemPoolProps, maxSize, 24, size_t);
FIELD(struct cudaMemPoolProps, usage, 32, unsigned short);
ARRAY(struct cudaMemPoolProps, reserved, 34, unsigned char, 54);

/* §1.6 */
FACT(sizeof(struct cudaPointerAttributes) == 24);
FACT(offsetof(struct cudaPointerAttributes, type) == 0);
FIELD(struct cudaPointerAttributes, device, 4, int);
FIELD(struct cudaPointerAttributes, devicePointer, 8, void *);
FIELD(struct cudaPointerAttributes, hostPointer, 16, void *);

/* §1.7: every field of the 12.x struct, in order. */
FACT(sizeof(struct cudaDeviceProp) == 1032);
FACT(ALIGNOF(struct cudaDeviceProp) == 8);
ARRAY(struct cudaDeviceProp, name, 0, char, 256);
FIELD(struct cudaDeviceProp, uuid, 256, cudaUUID_t);
ARRAY(struct cudaDeviceProp, luid, 272, char, 8);
FIELD(struct cudaDeviceProp, luidDeviceNodeMask, 280, unsigned int);
FIELD(struct cudaDeviceProp, totalGlobalMem, 288, size_t);
FIELD(struct cudaDeviceProp, sharedMemPerBlock, 296, size_t);
FIELD(struct cudaDeviceProp, regsPerBlock, 304, int);
FIELD(struct cudaDeviceProp, warpSize, 308, int);
FIELD(struct cudaDeviceProp, memPitch, 312, size_t);
FIELD(struct cudaDeviceProp, maxThreadsPerBlock, 320, int);
ARRAY(struct cudaDeviceProp, maxThreadsDim, 324, int, 3);
ARRAY(struct cudaDeviceProp, maxGridSize, 336, int, 3);
FIELD(struct cudaDeviceProp, clockRate, 348, int);
FIELD(struct cudaDeviceProp, totalConstMem, 352, size_t);
FIELD(struct cudaDeviceProp, major, 360, int);
FIELD(struct cudaDeviceProp, minor, 364, int);
FIELD(struct cudaDeviceProp, textureAlignment, 368, size_t);
FIELD(struct cudaDeviceProp, texturePitchAlignment, 376, size_t);
FIELD(struct cudaDeviceProp, deviceOverlap, 384, int);
FIELD(struct cudaDeviceProp, multiProcessorCount, 388, int);
FIELD(struct cudaDeviceProp, kernelExecTimeoutEnabled, 392, int);
FIELD(struct cudaDeviceProp, integrated, 396, int);
FIELD(struct cudaDeviceProp, canMapHostMemory, 400, int);
FIELD(struct cudaDeviceProp, computeMode, 404, int);
FIELD(struct cudaDeviceProp, maxTexture1D, 408, int);
FIELD(struct cudaDeviceProp, maxTexture1DMipmap, 412, int);
FIELD(struct cudaDeviceProp, maxTexture1DLinear, 416, int);
ARRAY(struct cudaDeviceProp, maxTexture2D, 420, int, 2);
ARRAY(struct cudaDeviceProp, maxTexture2DMipmap, 428, int, 2);
ARRAY(struct cudaDeviceProp, maxTexture2DLinear, 436, int, 3);
ARRAY(struct cudaDeviceProp, maxTexture2DGather, 448, int, 2);
ARRAY(struct cudaDeviceProp, maxTexture3D, 456, int, 3);
ARRAY(struct cudaDeviceProp, maxTexture3DAlt, 468, int, 3);
FIELD(struct cudaDeviceProp, maxTextureCubemap, 480, int);
ARRAY(struct cudaDeviceProp, maxTexture1DLayered, 484, int, 2);
ARRAY(struct cudaDeviceProp, maxTexture2DLayered, 492, int, 3);
ARRAY(struct cudaDeviceProp, maxTextureCubemapLayered, 504, int, 2);
FIELD(struct cudaDeviceProp, maxSurface1D, 512, int);
ARRAY(struct cudaDeviceProp, maxSurface2D, 516, int, 2);
ARRAY(struct cudaDeviceProp, maxSurface3D, 524, int, 3);
ARRAY(struct cudaDeviceProp, maxSurface1DLayered, 536, int, 2);
ARRAY(struct cudaDeviceProp, maxSurface2DLayered, 544, int, 3);
FIELD(struct cudaDeviceProp, maxSurfaceCubemap, 556, int);
ARRAY(struct cudaDeviceProp, maxSurfaceCubemapLayered, 560, int, 2);
FIELD(struct cudaDeviceProp, surfaceAlignment, 568, size_t);
FIELD(struct cudaDeviceProp, concurrentKernels, 576, int);
FIELD(struct cudaDeviceProp, ECCEnabled, 580, int);
FIELD(struct cudaDeviceProp, pciBusID, 584, int);
FIELD(struct cudaDeviceProp, pciDeviceID, 588, int);
FIELD(struct cudaDeviceProp, pciDomainID, 592, int);
FIELD(struct cudaDeviceProp, tccDriver, 596, int);
FIELD(struct cudaDeviceProp, asyncEngineCount, 600, int);
FIELD(struct cudaDeviceProp, unifiedAddressing, 604, int);
FIELD(struct cudaDeviceProp, memoryClockRate, 608, int);
FIELD(struct cudaDeviceProp, memoryBusWidth, 612, int);
FIELD(struct cudaDeviceProp, l2CacheSize, 616, int);
FIELD(struct cudaDeviceProp, persistingL2CacheMaxSize, 620, int);
FIELD(struct cudaDeviceProp, maxThreadsPerMultiProcessor, 624, int);
FIELD(struct cudaDeviceProp, streamPrioritiesSupported, 628, int);
FIELD(struct cudaDeviceProp, globalL1CacheSupported, 632, int);
FIELD(struct cudaDeviceProp, localL1CacheSupported, 636, int);
FIELD(struct cudaDeviceProp, sharedMemPerMultiprocessor, 640, size_t);
FIELD(struct cudaDeviceProp, regsPerMultiprocessor, 648, int);
FIELD(struct cudaDeviceProp, managedMemory, 652, int);
FIELD(struct cudaDeviceProp, isMultiGpuBoard, 656, int);
FIELD(struct cudaDeviceProp, multiGpuBoardGroupID, 660, int);
FIELD(struct cudaDeviceProp, hostNativeAtomicSupported, 664, int);
FIELD(struct cudaDeviceProp, singleToDoublePrecisionPerfRatio, 668, int);
FIELD(struct cudaDeviceProp, pageableMemoryAccess, 672, int);
FIELD(struct cudaDeviceProp, concurrentManagedAccess, 676, int);
FIELD(struct cudaDeviceProp, computePreemptionSupported, 680, int);
FIELD(struct cudaDeviceProp, canUseHostPointerForRegisteredMem, 684, int);
FIELD(struct cudaDeviceProp, cooperativeLaunch, 688, int);
FIELD(struct cudaDeviceProp, cooperativeMultiDeviceLaunch, 692, int);
FIELD(struct cudaDeviceProp, sharedMemPerBlockOptin, 696, size_t);
FIELD(struct cudaDeviceProp, pageableMemoryAccessUsesHostPageTables, 704, int);
FIELD(struct cudaDeviceProp, directManagedMemAccessFromHost, 708, int);
FIELD(struct cudaDeviceProp, maxBlocksPerMultiProcessor, 712, int);
FIELD(struct cudaDeviceProp, accessPolicyMaxWindowSize, 716, int);
FIELD(struct cudaDeviceProp, reservedSharedMemPerBlock, 720, size_t);
FIELD(struct cudaDeviceProp, hostRegisterSupported, 728, int);
FIELD(struct cudaDeviceProp, sparseCudaArraySupported, 732, int);
FIELD(struct cudaDeviceProp, hostRegisterReadOnlySupported, 736, int);
FIELD(struct cudaDeviceProp, timelineSemaphoreInteropSupported, 740, int);
FIELD(struct cudaDeviceProp, memoryPoolsSupported, 744, int);
FIELD(struct cudaDeviceProp, gpuDirectRDMASupported, 748, int);
FIELD(struct cudaDeviceProp, gpuDirectRDMAFlushWritesOptions, 752, unsigned int);
FIELD(struct cudaDeviceProp, gpuDirectRDMAWritesOrdering, 756, int);
FIELD(struct cudaDeviceProp, memoryPoolSupportedHandleTypes, 760, unsigned int);
FIELD(struct cudaDeviceProp, deferredMappingCudaArraySupported, 764, int);
FIELD(struct cudaDeviceProp, ipcEventSupported, 768, int);
FIELD(struct cudaDeviceProp, clusterLaunch, 772, int);
FIELD(struct cudaDeviceProp, unifiedFunctionPointers, 776, int);
ARRAY(struct cudaDeviceProp, reserved, 780, int, 63);

#if defined(CUDA_ABI_ENUM_FIELDS)
/* The fields §1.6 and §1.9 type as enums. C cannot tell an enum from
 * unsigned int; C++ can, and code like `cudaMemoryType t = attr.type;`
 * compiles only with the enum type. */
FIELD(struct cudaPointerAttributes, type, 0, enum cudaMemoryType);
FIELD(struct cudaMemPoolProps, allocType, 0, enum cudaMemAllocationType);
FIELD(struct cudaMemPoolProps, handleTypes, 4, enum cudaMemAllocationHandleType);
FIELD(struct cudaMemLocation, type, 0, enum cudaMemLocationType);
#else
/* Whatever the C type, it is 4 bytes. */
FACT(sizeof(FIELD_T(struct cudaPointerAttributes, type)) == 4);
FACT(sizeof(FIELD_T(struct cudaMemPoolProps, allocType)) == 4);
FACT(sizeof(FIELD_T(struct cudaMemPoolProps, handleTypes)) == 4);
FACT(sizeof(FIELD_T(struct cudaMemLocation, type)) == 4);
#endif

/* §1.1's prototypes as the reference writes them, redeclared after our
 * headers: C rejects an incompatible redeclaration, C++ one whose types
 * differ at all. `__dv` is emptied (C++ forbids repeating a default). */
#undef __dv
#define __dv(v)
#ifdef __cplusplus
extern "C" {
#endif

/* memory */
cudaError_t cudaMalloc(void **devPtr, size_t size);
cudaError_t cudaFree(void *devPtr);
cudaError_t cudaMemset(void *devPtr, int value, size_t count);
cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream __dv(0));
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind, cudaStream_t stream __dv(0));
cudaError_t cudaMallocHost(void **ptr, size_t size);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags);
cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost, unsigned int flags);
cudaError_t cudaHostGetFlags(unsigned int *pFlags, void *pHost);
cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags);
cudaError_t cudaHostUnregister(void *ptr);
cudaError_t cudaMallocPitch(void **devPtr, size_t *pitch, size_t width, size_t height);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height, enum cudaMemcpyKind kind, cudaStream_t stream __dv(0));
cudaError_t cudaMemGetInfo(size_t *free, size_t *total);
cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attributes, const void *ptr);
cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int flags /* C++: = cudaMemAttachGlobal */);
/* stream-ordered allocator / pools */
cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream);
cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream);
cudaError_t cudaMallocFromPoolAsync(void **ptr, size_t size, cudaMemPool_t memPool, cudaStream_t stream);
cudaError_t cudaMemPoolCreate(cudaMemPool_t *memPool, const struct cudaMemPoolProps *poolProps);
cudaError_t cudaMemPoolDestroy(cudaMemPool_t memPool);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, enum cudaMemPoolAttr attr, void *value);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, enum cudaMemPoolAttr attr, void *value);
cudaError_t cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t minBytesToKeep);
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *memPool, int device);
cudaError_t cudaDeviceGetMemPool(cudaMemPool_t *memPool, int device);
cudaError_t cudaDeviceSetMemPool(int device, cudaMemPool_t memPool);
/* device */
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);   /* 12.x: #define'd to ..._v2 */
cudaError_t cudaGetDeviceProperties_v2(struct cudaDeviceProp *prop, int device); /* 12.x only */
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaSetDeviceFlags(unsigned int flags);
cudaError_t cudaDriverGetVersion(int *driverVersion);
cudaError_t cudaRuntimeGetVersion(int *runtimeVersion);
/* errors */
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
/* streams / events */
cudaError_t cudaStreamCreate(cudaStream_t *pStream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream __dv(0));
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventElapsedTime_v2(float *ms, cudaEvent_t start, cudaEvent_t end); /* 12.8–12.9 only, separate symbol, not #define'd */
cudaError_t cudaEventDestroy(cudaEvent_t event);
#ifdef __cplusplus
}
#endif

#define STR(x) #x
#define NAME(x) STR(x)

static int failures;

static void expect(int ok, const char *what) {
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

int main(void) {
    expect((uintptr_t)cudaStreamLegacy == 0x1, "cudaStreamLegacy == (cudaStream_t)0x1");
    expect((uintptr_t)cudaStreamPerThread == 0x2, "cudaStreamPerThread == (cudaStream_t)0x2");
    /* §1.3: the names the linker sees. */
    expect(strcmp(NAME(cudaGetDeviceProperties), "cudaGetDeviceProperties_v2") == 0, "cudaGetDeviceProperties is cudaGetDeviceProperties_v2");
#if defined(CUDA_API_PER_THREAD_DEFAULT_STREAM)
    expect(strcmp(NAME(cudaMemcpy), "cudaMemcpy_ptds") == 0, "cudaMemcpy -> _ptds");
    expect(strcmp(NAME(cudaMemcpy2D), "cudaMemcpy2D_ptds") == 0, "cudaMemcpy2D -> _ptds");
    expect(strcmp(NAME(cudaMemset), "cudaMemset_ptds") == 0, "cudaMemset -> _ptds");
    expect(strcmp(NAME(cudaMemcpyAsync), "cudaMemcpyAsync_ptsz") == 0, "cudaMemcpyAsync -> _ptsz");
    expect(strcmp(NAME(cudaMemcpy2DAsync), "cudaMemcpy2DAsync_ptsz") == 0, "cudaMemcpy2DAsync -> _ptsz");
    expect(strcmp(NAME(cudaMemsetAsync), "cudaMemsetAsync_ptsz") == 0, "cudaMemsetAsync -> _ptsz");
    expect(strcmp(NAME(cudaStreamQuery), "cudaStreamQuery_ptsz") == 0, "cudaStreamQuery -> _ptsz");
    expect(strcmp(NAME(cudaStreamSynchronize), "cudaStreamSynchronize_ptsz") == 0, "cudaStreamSynchronize -> _ptsz");
    expect(strcmp(NAME(cudaEventRecord), "cudaEventRecord_ptsz") == 0, "cudaEventRecord -> _ptsz");
    expect(strcmp(NAME(cudaMallocAsync), "cudaMallocAsync_ptsz") == 0, "cudaMallocAsync -> _ptsz");
    expect(strcmp(NAME(cudaFreeAsync), "cudaFreeAsync_ptsz") == 0, "cudaFreeAsync -> _ptsz");
#else
    expect(strcmp(NAME(cudaMemcpy), "cudaMemcpy") == 0, "cudaMemcpy keeps its name");
    expect(strcmp(NAME(cudaStreamSynchronize), "cudaStreamSynchronize") == 0, "cudaStreamSynchronize keeps its name");
#endif
    if (failures)
        return 1;
#ifdef __cplusplus
    printf("all facts hold (C++)\n");
#else
    printf("all facts hold (C)\n");
#endif
    return 0;
}
