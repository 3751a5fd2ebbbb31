/* The vendor ABI facts of /work/shared/reference (hisilicon.md §1-4,
 * horizon.md §1), asserted against accelmem's headers at compile time.
 * Built as C11 and as C++11 by tests/abi_facts.rs with -Wall -Wextra -Werror.
 * Layouts are the LP64 ones (x86_64, AArch64). */
#include "hi_type.h"
#include "hi_errno.h"
#include "hi_common.h"
#include "hi_comm_sys.h"
#include "mpi_sys.h"
#include "hi_comm_vb.h"
#include "mpi_vb.h"
#include "dnn/hb_sys.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#define FACT(c) static_assert(c, #c)
template <class A, class B> struct same_type { enum { value = 0 }; };
template <class A> struct same_type<A, A> { enum { value = 1 }; };
#define SAME_TYPE(a, b) (same_type<a, b>::value)
#else
#define FACT(c) _Static_assert(c, #c)
/* Pointer types compare exactly: char, signed char, long, long long differ. */
#define SAME_TYPE(a, b) _Generic((a *)0, b *: 1, default: 0)
#endif

#define FIELD_SIZE(t, f) sizeof(((t *)0)->f)

FACT(sizeof(void *) == 8); /* the layouts below are LP64 */

/* hi_type.h, hisilicon.md §1.1 */
FACT(SAME_TYPE(HI_UCHAR, unsigned char));
FACT(SAME_TYPE(HI_U8, unsigned char));
FACT(SAME_TYPE(HI_U16, unsigned short));
FACT(SAME_TYPE(HI_U32, unsigned int));
FACT(SAME_TYPE(HI_UL, unsigned long));
FACT(SAME_TYPE(HI_ULONG, unsigned long));
FACT(SAME_TYPE(HI_UINTPTR_T, uintptr_t));
FACT(SAME_TYPE(HI_CHAR, char));
FACT(SAME_TYPE(HI_S8, signed char));
FACT(SAME_TYPE(HI_S16, short));
FACT(SAME_TYPE(HI_S32, int));
FACT(SAME_TYPE(HI_SL, long));
FACT(SAME_TYPE(HI_FLOAT, float));
FACT(SAME_TYPE(HI_DOUBLE, double));
FACT(SAME_TYPE(HI_U64, unsigned long long));
FACT(SAME_TYPE(HI_S64, long long));
FACT(SAME_TYPE(HI_SIZE_T, unsigned long));
FACT(SAME_TYPE(HI_LENGTH_T, unsigned long));
FACT(SAME_TYPE(HI_PHYS_ADDR_T, unsigned long));
FACT(SAME_TYPE(HI_HANDLE, unsigned int));
FACT(sizeof(HI_U64) == 8);
FACT(sizeof(HI_U32) == 4);
FACT(sizeof(HI_CHAR) == 1);
/* An enum of 0 and 1 in the vendor header: GCC makes it unsigned int. */
FACT(sizeof(HI_BOOL) == 4);
FACT((HI_BOOL)-1 > 0);
FACT(HI_FALSE == 0);
FACT(HI_TRUE == 1);
FACT(HI_SUCCESS == 0);
FACT(HI_FAILURE == -1);

/* hi_errno.h, hisilicon.md §3.1 */
FACT(HI_ERR_APPID == 0x80000000U + 0x20000000U);
FACT(EN_ERR_LEVEL_DEBUG == 0);
FACT(EN_ERR_LEVEL_INFO == 1);
FACT(EN_ERR_LEVEL_NOTICE == 2);
FACT(EN_ERR_LEVEL_WARNING == 3);
FACT(EN_ERR_LEVEL_ERROR == 4);
FACT(EN_ERR_LEVEL_CRIT == 5);
FACT(EN_ERR_LEVEL_ALERT == 6);
FACT(EN_ERR_LEVEL_FATAL == 7);
FACT(EN_ERR_LEVEL_BUTT == 30);
FACT(EN_ERR_INVALID_DEVID == 1);
FACT(EN_ERR_INVALID_CHNID == 2);
FACT(EN_ERR_ILLEGAL_PARAM == 3);
FACT(EN_ERR_EXIST == 4);
FACT(EN_ERR_UNEXIST == 5);
FACT(EN_ERR_NULL_PTR == 6);
FACT(EN_ERR_NOT_CONFIG == 7);
FACT(EN_ERR_NOT_SUPPORT == 8);
FACT(EN_ERR_NOT_PERM == 9);
FACT(EN_ERR_INVALID_PIPEID == 10);
FACT(EN_ERR_INVALID_STITCHGRPID == 11);
FACT(EN_ERR_NOMEM == 12);
FACT(EN_ERR_NOBUF == 13);
FACT(EN_ERR_BUF_EMPTY == 14);
FACT(EN_ERR_BUF_FULL == 15);
FACT(EN_ERR_SYS_NOTREADY == 16);
FACT(EN_ERR_BADADDR == 17);
FACT(EN_ERR_BUSY == 18);
FACT(EN_ERR_SIZE_NOT_ENOUGH == 19);
FACT(EN_ERR_BUTT == 63);

/* hi_common.h, §3.2 and §2.4 */
FACT(HI_ID_CMPI == 0);
FACT(HI_ID_VB == 1);
FACT(HI_ID_SYS == 2);
FACT(sizeof(MPP_CHN_S) == 12);
FACT(offsetof(MPP_CHN_S, enModId) == 0);
FACT(offsetof(MPP_CHN_S, s32DevId) == 4);
FACT(offsetof(MPP_CHN_S, s32ChnId) == 8);

/* Each error code three ways: the §3.3 hex, its HI_S32 value, and
 * HI_DEF_ERR(module, EN_ERR_LEVEL_ERROR, errid) as the vendor header builds it. */
#define ERR(name, mod, errid, hex, dec)                                   \
    FACT((HI_U32)(name) == (hex));                                        \
    FACT((name) == (dec));                                                \
    FACT((name) == HI_DEF_ERR(mod, EN_ERR_LEVEL_ERROR, errid));           \
    FACT(SAME_TYPE(HI_S32, __typeof__(name)))

/* hi_comm_sys.h, §3.3 */
ERR(HI_ERR_SYS_ILLEGAL_PARAM, HI_ID_SYS, EN_ERR_ILLEGAL_PARAM, 0xA0028003U, -1610448893);
ERR(HI_ERR_SYS_NULL_PTR, HI_ID_SYS, EN_ERR_NULL_PTR, 0xA0028006U, -1610448890);
ERR(HI_ERR_SYS_NOT_SUPPORT, HI_ID_SYS, EN_ERR_NOT_SUPPORT, 0xA0028008U, -1610448888);
ERR(HI_ERR_SYS_NOT_PERM, HI_ID_SYS, EN_ERR_NOT_PERM, 0xA0028009U, -1610448887);
ERR(HI_ERR_SYS_NOMEM, HI_ID_SYS, EN_ERR_NOMEM, 0xA002800CU, -1610448884);
ERR(HI_ERR_SYS_NOTREADY, HI_ID_SYS, EN_ERR_SYS_NOTREADY, 0xA0028010U, -1610448880);
ERR(HI_ERR_SYS_BUSY, HI_ID_SYS, EN_ERR_BUSY, 0xA0028012U, -1610448878);

/* hi_comm_vb.h, §3.3 */
ERR(HI_ERR_VB_ILLEGAL_PARAM, HI_ID_VB, EN_ERR_ILLEGAL_PARAM, 0xA0018003U, -1610514429);
ERR(HI_ERR_VB_EXIST, HI_ID_VB, EN_ERR_EXIST, 0xA0018004U, -1610514428);
ERR(HI_ERR_VB_UNEXIST, HI_ID_VB, EN_ERR_UNEXIST, 0xA0018005U, -1610514427);
ERR(HI_ERR_VB_NULL_PTR, HI_ID_VB, EN_ERR_NULL_PTR, 0xA0018006U, -1610514426);
ERR(HI_ERR_VB_NOT_PERM, HI_ID_VB, EN_ERR_NOT_PERM, 0xA0018009U, -1610514423);
ERR(HI_ERR_VB_NOMEM, HI_ID_VB, EN_ERR_NOMEM, 0xA001800CU, -1610514420);
ERR(HI_ERR_VB_NOBUF, HI_ID_VB, EN_ERR_NOBUF, 0xA001800DU, -1610514419);
ERR(HI_ERR_VB_NOTREADY, HI_ID_VB, EN_ERR_SYS_NOTREADY, 0xA0018010U, -1610514416);
ERR(HI_ERR_VB_BUSY, HI_ID_VB, EN_ERR_BUSY, 0xA0018012U, -1610514414);
ERR(HI_ERR_VB_SIZE_NOT_ENOUGH, HI_ID_VB, EN_ERR_SIZE_NOT_ENOUGH, 0xA0018013U, -1610514413);
ERR(HI_ERR_VB_2MPOOLS, HI_ID_VB, EN_ERR_BUTT + 1, 0xA0018040U, -1610514368);

/* hi_comm_sys.h structs, §2.4 */
FACT(sizeof(MPP_SYS_CONFIG_S) == 4);
FACT(offsetof(MPP_SYS_CONFIG_S, u32Align) == 0);
FACT(sizeof(SYS_VIRMEM_INFO_S) == 16);
FACT(offsetof(SYS_VIRMEM_INFO_S, u64PhyAddr) == 0);
FACT(offsetof(SYS_VIRMEM_INFO_S, bCached) == 8);
FACT(FIELD_SIZE(SYS_VIRMEM_INFO_S, u64PhyAddr) == 8);
FACT(FIELD_SIZE(SYS_VIRMEM_INFO_S, bCached) == 4);

/* hi_comm_vb.h, §4.2 (V4-OH: MAX_MMZ_NAME_LEN 32) */
FACT(VB_INVALID_POOLID == 0xFFFFFFFFU);
FACT(VB_INVALID_HANDLE == 0xFFFFFFFFU);
FACT(VB_MAX_COMM_POOLS == 16);
FACT(VB_MAX_MOD_COMM_POOLS == 16);
FACT(VB_UID_VI == 0);
FACT(VB_UID_USER == 12);
FACT(VB_UID_MCF == 22);
FACT(VB_UID_BUTT == 23);
FACT(VB_MAX_USER == VB_UID_BUTT);
FACT(POOL_OWNER_COMMON == -1);
FACT(POOL_OWNER_PRIVATE == -2);
FACT(SAME_TYPE(VB_POOL, HI_U32));
FACT(SAME_TYPE(VB_BLK, HI_U32));
FACT(sizeof(VB_POOL) == 4);
FACT(sizeof(VB_BLK) == 4);
FACT(sizeof(RESERVE_MMZ_NAME) == sizeof("window"));
FACT(VB_REMAP_MODE_NONE == 0);
FACT(VB_REMAP_MODE_NOCACHE == 1);
FACT(VB_REMAP_MODE_CACHED == 2);
FACT(VB_REMAP_MODE_BUTT == 3);
FACT(sizeof(VB_REMAP_MODE_E) == 4);
FACT(VB_SUPPLEMENT_JPEG_MASK == 0x1);
FACT(VB_SUPPLEMENT_ISPINFO_MASK == 0x2);
FACT(VB_SUPPLEMENT_MOTION_DATA_MASK == 0x4);
FACT(VB_SUPPLEMENT_DNG_MASK == 0x8);
FACT(MAX_MMZ_NAME_LEN == 32);
FACT(sizeof(VB_POOL_CONFIG_S) == 48);
FACT(offsetof(VB_POOL_CONFIG_S, u64BlkSize) == 0);
FACT(offsetof(VB_POOL_CONFIG_S, u32BlkCnt) == 8);
FACT(offsetof(VB_POOL_CONFIG_S, enRemapMode) == 12);
FACT(offsetof(VB_POOL_CONFIG_S, acMmzName) == 16);
FACT(FIELD_SIZE(VB_POOL_CONFIG_S, acMmzName) == 32);
/* u32 then an 8-aligned array of 16: 4 + 4 pad + 16 * 48 */
FACT(sizeof(VB_CONFIG_S) == 776);
FACT(offsetof(VB_CONFIG_S, u32MaxPoolCnt) == 0);
FACT(offsetof(VB_CONFIG_S, astCommPool) == 8);
FACT(FIELD_SIZE(VB_CONFIG_S, astCommPool) == 16 * 48);
FACT(sizeof(VB_POOL_STATUS_S) == 12);
FACT(offsetof(VB_POOL_STATUS_S, bIsCommPool) == 0);
FACT(offsetof(VB_POOL_STATUS_S, u32BlkCnt) == 4);
FACT(offsetof(VB_POOL_STATUS_S, u32FreeBlkCnt) == 8);
FACT(sizeof(VB_SUPPLEMENT_CONFIG_S) == 4);

/* dnn/hb_sys.h, horizon.md §1.2 */
FACT(sizeof(hbSysMem) == 24);
FACT(offsetof(hbSysMem, phyAddr) == 0);
FACT(offsetof(hbSysMem, virAddr) == 8);
FACT(offsetof(hbSysMem, memSize) == 16);
FACT(FIELD_SIZE(hbSysMem, phyAddr) == 8);
FACT(FIELD_SIZE(hbSysMem, memSize) == 4);
FACT(HB_BPU_CORE_ANY == 0);
FACT(HB_BPU_CORE_0 == 1);
FACT(HB_BPU_CORE_1 == 2);
FACT(HB_DSP_CORE_ANY == 0);
FACT(HB_DSP_CORE_0 == 1);
FACT(HB_DSP_CORE_1 == 2);
FACT(HB_SYS_MEM_CACHE_INVALIDATE == 1);
FACT(HB_SYS_MEM_CACHE_CLEAN == 2);
FACT(HB_SYS_SUCCESS == 0);
FACT(HB_SYS_INVALID_ARGUMENT == -6000129);
FACT(HB_SYS_OUT_OF_MEMORY == -6000130);
FACT(HB_SYS_REGISTER_MEM_FAILED == -6000131);

/* The reference's prototypes, verbatim: a redeclaration that conflicts with
 * the header is an error (in C++ too, as both are extern "C"). */
#ifdef __cplusplus
extern "C" {
#endif
/* hisilicon.md §2.1 (the calls accelmem implements) */
HI_S32 HI_MPI_SYS_Init(HI_VOID);
HI_S32 HI_MPI_SYS_Exit(HI_VOID);
HI_S32 HI_MPI_SYS_SetConfig(const MPP_SYS_CONFIG_S *pstSysConfig);
HI_S32 HI_MPI_SYS_GetConfig(MPP_SYS_CONFIG_S *pstSysConfig);
HI_S32 HI_MPI_SYS_MmzAlloc(HI_U64 *pu64PhyAddr, HI_VOID **ppVirAddr,
                           const HI_CHAR *strMmb, const HI_CHAR *strZone, HI_U32 u32Len);
HI_S32 HI_MPI_SYS_MmzAlloc_Cached(HI_U64 *pu64PhyAddr, HI_VOID **ppVirAddr,
                                  const HI_CHAR *pstrMmb, const HI_CHAR *pstrZone, HI_U32 u32Len);
HI_S32 HI_MPI_SYS_MmzFree(HI_U64 u64PhyAddr, HI_VOID *pVirAddr);
HI_S32 HI_MPI_SYS_MmzFlushCache(HI_U64 u64PhyAddr, HI_VOID *pVirAddr, HI_U32 u32Size);
HI_VOID *HI_MPI_SYS_Mmap(HI_U64 u64PhyAddr, HI_U32 u32Size);
HI_VOID *HI_MPI_SYS_MmapCache(HI_U64 u64PhyAddr, HI_U32 u32Size);
HI_S32 HI_MPI_SYS_Munmap(HI_VOID *pVirAddr, HI_U32 u32Size);
HI_S32 HI_MPI_SYS_MflushCache(HI_U64 u64PhyAddr, HI_VOID *pVirAddr, HI_U32 u32Size);
HI_S32 HI_MPI_SYS_GetVirMemInfo(const void *pVirAddr, SYS_VIRMEM_INFO_S *pstMemInfo);
/* hisilicon.md §4.1 (the calls accelmem implements) */
VB_POOL HI_MPI_VB_CreatePool(VB_POOL_CONFIG_S *pstVbPoolCfg);
HI_S32 HI_MPI_VB_DestroyPool(VB_POOL Pool);
VB_BLK HI_MPI_VB_GetBlock(VB_POOL Pool, HI_U64 u64BlkSize, const HI_CHAR *pcMmzName);
HI_S32 HI_MPI_VB_ReleaseBlock(VB_BLK Block);
VB_BLK HI_MPI_VB_PhysAddr2Handle(HI_U64 u64PhyAddr);
HI_U64 HI_MPI_VB_Handle2PhysAddr(VB_BLK Block);
VB_POOL HI_MPI_VB_Handle2PoolId(VB_BLK Block);
HI_S32 HI_MPI_VB_InquireUserCnt(VB_BLK Block);
HI_S32 HI_MPI_VB_Init(HI_VOID);
HI_S32 HI_MPI_VB_Exit(HI_VOID);
HI_S32 HI_MPI_VB_SetConfig(const VB_CONFIG_S *pstVbConfig);
HI_S32 HI_MPI_VB_GetConfig(VB_CONFIG_S *pstVbConfig);
HI_S32 HI_MPI_VB_MmapPool(VB_POOL Pool);
HI_S32 HI_MPI_VB_MunmapPool(VB_POOL Pool);
HI_S32 HI_MPI_VB_GetBlockVirAddr(VB_POOL Pool, HI_U64 u64PhyAddr, HI_VOID **ppVirAddr);
/* horizon.md §1.3 */
int32_t hbSysAllocMem(hbSysMem *mem, uint32_t size);
int32_t hbSysAllocCachedMem(hbSysMem *mem, uint32_t size);
int32_t hbSysFlushMem(hbSysMem *mem, int32_t flag);
int32_t hbSysWriteMem(hbSysMem *dest, char *src, uint32_t size);
int32_t hbSysReadMem(char *dest, hbSysMem *src, uint32_t size);
int32_t hbSysFreeMem(hbSysMem *mem);
int32_t hbSysRegisterMem(hbSysMem *mem);
int32_t hbSysUnregisterMem(hbSysMem *mem);
#ifdef __cplusplus
}
#endif

int main(void)
{
    /* What the compile-time facts cannot see: the string's bytes, and that
     * the usual comparisons compile cleanly under -Wextra (sign-compare). */
    volatile VB_POOL pool = VB_INVALID_POOLID;
    volatile VB_BLK blk = VB_INVALID_HANDLE;
    volatile HI_S32 ret = HI_ERR_VB_2MPOOLS;
    int bad = 0;
    if (strcmp(RESERVE_MMZ_NAME, "window") != 0) {
        fprintf(stderr, "RESERVE_MMZ_NAME is \"%s\", not \"window\"\n", RESERVE_MMZ_NAME);
        bad = 1;
    }
    if (pool != VB_INVALID_POOLID || blk != VB_INVALID_HANDLE || ret == HI_SUCCESS) {
        fprintf(stderr, "handle or error comparisons misbehave\n");
        bad = 1;
    }
    if (bad)
        return 1;
    printf("abi_facts: all facts hold (%s)\n",
#ifdef __cplusplus
           "C++"
#else
           "C"
#endif
    );
    return 0;
}
