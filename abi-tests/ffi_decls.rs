// The C functions accelmem exports, declared as a C caller sees them. ctest
// checks only functions in `extern` blocks (not `#[no_mangle]` definitions):
// each must be declared in the headers, and its address as C takes it must
// equal the one Rust links to. Included by ctest_root.rs and tests/abi.rs.
unsafe extern "C" {
    // mpi_sys.h
    pub fn HI_MPI_SYS_Init() -> HI_S32;
    pub fn HI_MPI_SYS_Exit() -> HI_S32;
    pub fn HI_MPI_SYS_SetConfig(pstSysConfig: *const MPP_SYS_CONFIG_S) -> HI_S32;
    pub fn HI_MPI_SYS_GetConfig(pstSysConfig: *mut MPP_SYS_CONFIG_S) -> HI_S32;
    pub fn HI_MPI_SYS_MmzAlloc(
        pu64PhyAddr: *mut HI_U64,
        ppVirAddr: *mut *mut c_void,
        strMmb: *const HI_CHAR,
        strZone: *const HI_CHAR,
        u32Len: HI_U32,
    ) -> HI_S32;
    pub fn HI_MPI_SYS_MmzAlloc_Cached(
        pu64PhyAddr: *mut HI_U64,
        ppVirAddr: *mut *mut c_void,
        pstrMmb: *const HI_CHAR,
        pstrZone: *const HI_CHAR,
        u32Len: HI_U32,
    ) -> HI_S32;
    pub fn HI_MPI_SYS_MmzFree(u64PhyAddr: HI_U64, pVirAddr: *mut c_void) -> HI_S32;
    pub fn HI_MPI_SYS_MmzFlushCache(u64PhyAddr: HI_U64, pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32;
    pub fn HI_MPI_SYS_Mmap(u64PhyAddr: HI_U64, u32Size: HI_U32) -> *mut c_void;
    pub fn HI_MPI_SYS_MmapCache(u64PhyAddr: HI_U64, u32Size: HI_U32) -> *mut c_void;
    pub fn HI_MPI_SYS_Munmap(pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32;
    pub fn HI_MPI_SYS_MflushCache(u64PhyAddr: HI_U64, pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32;
    pub fn HI_MPI_SYS_GetVirMemInfo(pVirAddr: *const c_void, pstMemInfo: *mut SYS_VIRMEM_INFO_S) -> HI_S32;

    // mpi_vb.h
    pub fn HI_MPI_VB_SetConfig(pstVbConfig: *const VB_CONFIG_S) -> HI_S32;
    pub fn HI_MPI_VB_GetConfig(pstVbConfig: *mut VB_CONFIG_S) -> HI_S32;
    pub fn HI_MPI_VB_Init() -> HI_S32;
    pub fn HI_MPI_VB_Exit() -> HI_S32;
    pub fn HI_MPI_VB_CreatePool(pstVbPoolCfg: *mut VB_POOL_CONFIG_S) -> VB_POOL;
    pub fn HI_MPI_VB_DestroyPool(Pool: VB_POOL) -> HI_S32;
    pub fn HI_MPI_VB_GetBlock(Pool: VB_POOL, u64BlkSize: HI_U64, pcMmzName: *const HI_CHAR) -> VB_BLK;
    pub fn HI_MPI_VB_ReleaseBlock(Block: VB_BLK) -> HI_S32;
    pub fn HI_MPI_VB_PhysAddr2Handle(u64PhyAddr: HI_U64) -> VB_BLK;
    pub fn HI_MPI_VB_Handle2PhysAddr(Block: VB_BLK) -> HI_U64;
    pub fn HI_MPI_VB_Handle2PoolId(Block: VB_BLK) -> VB_POOL;
    pub fn HI_MPI_VB_InquireUserCnt(Block: VB_BLK) -> HI_S32;
    pub fn HI_MPI_VB_MmapPool(Pool: VB_POOL) -> HI_S32;
    pub fn HI_MPI_VB_MunmapPool(Pool: VB_POOL) -> HI_S32;
    pub fn HI_MPI_VB_GetBlockVirAddr(Pool: VB_POOL, u64PhyAddr: HI_U64, ppVirAddr: *mut *mut c_void) -> HI_S32;

    // dnn/hb_sys.h
    pub fn hbSysAllocMem(mem: *mut hbSysMem, size: u32) -> i32;
    pub fn hbSysAllocCachedMem(mem: *mut hbSysMem, size: u32) -> i32;
    pub fn hbSysFlushMem(mem: *mut hbSysMem, flag: i32) -> i32;
    pub fn hbSysFreeMem(mem: *mut hbSysMem) -> i32;
    pub fn hbSysWriteMem(dest: *mut hbSysMem, src: *mut c_char, size: u32) -> i32;
    pub fn hbSysReadMem(dest: *mut c_char, src: *mut hbSysMem, size: u32) -> i32;
    pub fn hbSysRegisterMem(mem: *mut hbSysMem) -> i32;
    pub fn hbSysUnregisterMem(mem: *mut hbSysMem) -> i32;

    // cuda_runtime_api.h: every `#[no_mangle]` export of
    // src/api/cuda/cuda_runtime_api.rs. Parameters that C types as an enum
    // (`enum cudaMemcpyKind`, `enum cudaDeviceAttr`, `enum cudaMemPoolAttr`) are
    // `c_uint` here, as in the definitions: C may pass any value.
    pub fn cudaMalloc(devPtr: *mut *mut c_void, size: usize) -> cudaError_t;
    pub fn cudaFree(devPtr: *mut c_void) -> cudaError_t;
    pub fn cudaMallocPitch(devPtr: *mut *mut c_void, pitch: *mut usize, width: usize, height: usize) -> cudaError_t;
    pub fn cudaMallocManaged(devPtr: *mut *mut c_void, size: usize, flags: c_uint) -> cudaError_t;
    pub fn cudaMemGetInfo(free: *mut usize, total: *mut usize) -> cudaError_t;
    pub fn cudaMallocHost(ptr: *mut *mut c_void, size: usize) -> cudaError_t;
    pub fn cudaHostAlloc(pHost: *mut *mut c_void, size: usize, flags: c_uint) -> cudaError_t;
    pub fn cudaFreeHost(ptr: *mut c_void) -> cudaError_t;
    pub fn cudaHostGetDevicePointer(pDevice: *mut *mut c_void, pHost: *mut c_void, flags: c_uint) -> cudaError_t;
    pub fn cudaHostGetFlags(pFlags: *mut c_uint, pHost: *mut c_void) -> cudaError_t;
    pub fn cudaHostRegister(ptr: *mut c_void, size: usize, flags: c_uint) -> cudaError_t;
    pub fn cudaHostUnregister(ptr: *mut c_void) -> cudaError_t;
    pub fn cudaPointerGetAttributes(attributes: *mut cudaPointerAttributes, ptr: *const c_void) -> cudaError_t;
    pub fn cudaMemcpy(dst: *mut c_void, src: *const c_void, count: usize, kind: c_uint) -> cudaError_t;
    pub fn cudaMemcpy2D(
        dst: *mut c_void,
        dpitch: usize,
        src: *const c_void,
        spitch: usize,
        width: usize,
        height: usize,
        kind: c_uint,
    ) -> cudaError_t;
    pub fn cudaMemset(devPtr: *mut c_void, value: c_int, count: usize) -> cudaError_t;
    pub fn cudaMemset2D(devPtr: *mut c_void, pitch: usize, value: c_int, width: usize, height: usize) -> cudaError_t;
    pub fn cudaMemcpyAsync(dst: *mut c_void, src: *const c_void, count: usize, kind: c_uint, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaMemcpy2DAsync(
        dst: *mut c_void,
        dpitch: usize,
        src: *const c_void,
        spitch: usize,
        width: usize,
        height: usize,
        kind: c_uint,
        stream: cudaStream_t,
    ) -> cudaError_t;
    pub fn cudaMemsetAsync(devPtr: *mut c_void, value: c_int, count: usize, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaMemset2DAsync(
        devPtr: *mut c_void,
        pitch: usize,
        value: c_int,
        width: usize,
        height: usize,
        stream: cudaStream_t,
    ) -> cudaError_t;
    pub fn cudaMallocAsync(devPtr: *mut *mut c_void, size: usize, hStream: cudaStream_t) -> cudaError_t;
    pub fn cudaMallocFromPoolAsync(ptr: *mut *mut c_void, size: usize, memPool: cudaMemPool_t, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaFreeAsync(devPtr: *mut c_void, hStream: cudaStream_t) -> cudaError_t;
    pub fn cudaDeviceGetDefaultMemPool(memPool: *mut cudaMemPool_t, device: c_int) -> cudaError_t;
    pub fn cudaDeviceGetMemPool(memPool: *mut cudaMemPool_t, device: c_int) -> cudaError_t;
    pub fn cudaMemPoolSetAttribute(memPool: cudaMemPool_t, attr: c_uint, value: *mut c_void) -> cudaError_t;
    pub fn cudaMemPoolGetAttribute(memPool: cudaMemPool_t, attr: c_uint, value: *mut c_void) -> cudaError_t;
    pub fn cudaMemPoolTrimTo(memPool: cudaMemPool_t, minBytesToKeep: usize) -> cudaError_t;
    pub fn cudaGetDeviceCount(count: *mut c_int) -> cudaError_t;
    pub fn cudaSetDevice(device: c_int) -> cudaError_t;
    pub fn cudaGetDevice(device: *mut c_int) -> cudaError_t;
    pub fn cudaGetDeviceProperties_v2(prop: *mut cudaDeviceProp, device: c_int) -> cudaError_t;
    pub fn cudaGetDeviceProperties(prop: *mut cudaDeviceProp, device: c_int) -> cudaError_t;
    pub fn cudaDeviceGetAttribute(value: *mut c_int, attr: c_uint, device: c_int) -> cudaError_t;
    pub fn cudaDeviceSynchronize() -> cudaError_t;
    pub fn cudaDeviceReset() -> cudaError_t;
    pub fn cudaRuntimeGetVersion(runtimeVersion: *mut c_int) -> cudaError_t;
    pub fn cudaDriverGetVersion(driverVersion: *mut c_int) -> cudaError_t;
    pub fn cudaStreamCreate(pStream: *mut cudaStream_t) -> cudaError_t;
    pub fn cudaStreamCreateWithFlags(pStream: *mut cudaStream_t, flags: c_uint) -> cudaError_t;
    pub fn cudaStreamDestroy(stream: cudaStream_t) -> cudaError_t;
    pub fn cudaStreamSynchronize(stream: cudaStream_t) -> cudaError_t;
    pub fn cudaStreamQuery(stream: cudaStream_t) -> cudaError_t;
    pub fn cudaEventCreate(event: *mut cudaEvent_t) -> cudaError_t;
    pub fn cudaEventCreateWithFlags(event: *mut cudaEvent_t, flags: c_uint) -> cudaError_t;
    pub fn cudaEventRecord(event: cudaEvent_t, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaEventSynchronize(event: cudaEvent_t) -> cudaError_t;
    pub fn cudaEventQuery(event: cudaEvent_t) -> cudaError_t;
    pub fn cudaEventElapsedTime(ms: *mut c_float, start: cudaEvent_t, end: cudaEvent_t) -> cudaError_t;
    pub fn cudaEventElapsedTime_v2(ms: *mut c_float, start: cudaEvent_t, end: cudaEvent_t) -> cudaError_t;
    pub fn cudaEventDestroy(event: cudaEvent_t) -> cudaError_t;
    pub fn cudaGetLastError() -> cudaError_t;
    pub fn cudaPeekAtLastError() -> cudaError_t;
    pub fn cudaGetErrorString(error: cudaError_t) -> *const c_char;
    pub fn cudaGetErrorName(error: cudaError_t) -> *const c_char;
    pub fn cudaMemcpy_ptds(dst: *mut c_void, src: *const c_void, count: usize, kind: c_uint) -> cudaError_t;
    pub fn cudaMemcpy2D_ptds(
        dst: *mut c_void,
        dpitch: usize,
        src: *const c_void,
        spitch: usize,
        width: usize,
        height: usize,
        kind: c_uint,
    ) -> cudaError_t;
    pub fn cudaMemset_ptds(devPtr: *mut c_void, value: c_int, count: usize) -> cudaError_t;
    pub fn cudaMemset2D_ptds(devPtr: *mut c_void, pitch: usize, value: c_int, width: usize, height: usize) -> cudaError_t;
    pub fn cudaMemcpyAsync_ptsz(dst: *mut c_void, src: *const c_void, count: usize, kind: c_uint, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaMemcpy2DAsync_ptsz(
        dst: *mut c_void,
        dpitch: usize,
        src: *const c_void,
        spitch: usize,
        width: usize,
        height: usize,
        kind: c_uint,
        stream: cudaStream_t,
    ) -> cudaError_t;
    pub fn cudaMemsetAsync_ptsz(devPtr: *mut c_void, value: c_int, count: usize, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaMemset2DAsync_ptsz(
        devPtr: *mut c_void,
        pitch: usize,
        value: c_int,
        width: usize,
        height: usize,
        stream: cudaStream_t,
    ) -> cudaError_t;
    pub fn cudaStreamQuery_ptsz(stream: cudaStream_t) -> cudaError_t;
    pub fn cudaStreamSynchronize_ptsz(stream: cudaStream_t) -> cudaError_t;
    pub fn cudaEventRecord_ptsz(event: cudaEvent_t, stream: cudaStream_t) -> cudaError_t;
    pub fn cudaMallocAsync_ptsz(devPtr: *mut *mut c_void, size: usize, hStream: cudaStream_t) -> cudaError_t;
    pub fn cudaFreeAsync_ptsz(devPtr: *mut c_void, hStream: cudaStream_t) -> cudaError_t;
}
