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
}
