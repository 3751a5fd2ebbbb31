/*
 * hisilicon_vb.c: a first program with the HiSilicon MPP (V4) VB pools.
 *
 * VB ("video buffer") pools are sets of equal-sized MMZ blocks that the
 * media modules pass around by handle (VB_BLK). There are two kinds:
 *   - common pools, configured once with HI_MPI_VB_SetConfig before
 *     HI_MPI_VB_Init and shared by everyone;
 *   - private pools, made by a program with HI_MPI_VB_CreatePool.
 *
 * Part 1 follows the vendor samples' start-up order (sample_comm_sys.c):
 *   HI_MPI_SYS_Exit, HI_MPI_VB_Exit   (clear whatever a previous run left)
 *   HI_MPI_VB_SetConfig               (two common pools)
 *   HI_MPI_VB_Init, HI_MPI_SYS_Init
 * then takes a block from the common pools, finds its physical address and
 * pool, maps it with HI_MPI_SYS_Mmap, writes and reads it, and releases it.
 *
 * Part 2 makes a private pool, takes a block, counts its users, maps the
 * whole pool (HI_MPI_VB_MmapPool + HI_MPI_VB_GetBlockVirAddr), and undoes
 * it all. Finally HI_MPI_VB_Exit and HI_MPI_SYS_Exit.
 *
 * Build: cc -Wall -Wextra -Werror -I include hisilicon_vb.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "hi_type.h"
#include "hi_comm_sys.h"
#include "hi_comm_vb.h"
#include "mpi_sys.h"
#include "mpi_vb.h"

#define SMALL_BLK_SIZE (64 * 1024)   /* common pool 0: 4 blocks of 64 KiB */
#define LARGE_BLK_SIZE (1024 * 1024) /* common pool 1: 2 blocks of 1 MiB */
#define WANT_SIZE (100 * 1024)       /* what we ask for: only pool 1 fits */
#define PRIVATE_BLK_SIZE (16 * 1024) /* private pool: 3 blocks of 16 KiB */

/* Print a failed call and its error code (HI_ERR_VB_* are 0xA001xxxx). */
static void report(const char *call, HI_S32 ret)
{
    fprintf(stderr, "FAILED: %s returned %#x\n", call, (unsigned)ret);
}

/* Part 1: a block from the common pools. Returns 0 on success. */
static int use_common_pools(void)
{
    VB_BLK blk;
    VB_POOL pool;
    HI_U64 phys;
    char *vir;
    HI_S32 ret;
    int status = 1;

    /* VB_INVALID_POOLID means "any common pool big enough"; NULL means any MMZ zone. */
    blk = HI_MPI_VB_GetBlock(VB_INVALID_POOLID, WANT_SIZE, NULL);
    if (blk == VB_INVALID_HANDLE) {
        fprintf(stderr, "FAILED: HI_MPI_VB_GetBlock returned VB_INVALID_HANDLE\n");
        return 1;
    }
    phys = HI_MPI_VB_Handle2PhysAddr(blk);
    pool = HI_MPI_VB_Handle2PoolId(blk);
    if (phys == 0 || pool == VB_INVALID_POOLID) {
        fprintf(stderr, "FAILED: Handle2PhysAddr=%#llx Handle2PoolId=%u\n", (unsigned long long)phys, pool);
        goto release;
    }
    printf("common GetBlock(%d bytes): block=%#x phys=%#llx pool=%u\n", WANT_SIZE, blk, (unsigned long long)phys,
           pool);

    /* The handle works from the physical address too. */
    if (HI_MPI_VB_PhysAddr2Handle(phys) != blk) {
        fprintf(stderr, "FAILED: HI_MPI_VB_PhysAddr2Handle does not give the block back\n");
        goto release;
    }

    /* Blocks come unmapped: map one with HI_MPI_SYS_Mmap to use it from the CPU. */
    vir = HI_MPI_SYS_Mmap(phys, WANT_SIZE);
    if (vir == NULL) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_Mmap returned NULL\n");
        goto release;
    }
    memset(vir, 0xA5, WANT_SIZE);
    strcpy(vir, "frame 1");
    if (strcmp(vir, "frame 1") != 0 || (unsigned char)vir[WANT_SIZE - 1] != 0xA5) {
        fprintf(stderr, "FAILED: the mapped block does not read back what was written\n");
    } else {
        printf("common block mapped, wrote and read back \"%s\"\n", vir);
        status = 0;
    }
    ret = HI_MPI_SYS_Munmap(vir, WANT_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_Munmap", ret);
        status = 1;
    }

release:
    ret = HI_MPI_VB_ReleaseBlock(blk);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_ReleaseBlock", ret);
        return 1;
    }
    printf("common ReleaseBlock: ok\n");
    return status;
}

/* Part 2: a private pool. Returns 0 on success. */
static int use_private_pool(void)
{
    VB_POOL_CONFIG_S cfg;
    VB_POOL pool;
    VB_BLK blk;
    HI_U64 phys;
    HI_VOID *vir = NULL;
    HI_VOID *check;
    HI_S32 ret, users;
    int status = 1;

    memset(&cfg, 0, sizeof cfg);
    cfg.u64BlkSize = PRIVATE_BLK_SIZE;
    cfg.u32BlkCnt = 3;
    cfg.enRemapMode = VB_REMAP_MODE_NONE;
    /* cfg.acMmzName left empty: the default zone. */
    pool = HI_MPI_VB_CreatePool(&cfg);
    if (pool == VB_INVALID_POOLID) {
        fprintf(stderr, "FAILED: HI_MPI_VB_CreatePool returned VB_INVALID_POOLID\n");
        return 1;
    }
    printf("CreatePool: pool=%u (%u blocks of %llu bytes)\n", pool, cfg.u32BlkCnt, (unsigned long long)cfg.u64BlkSize);

    blk = HI_MPI_VB_GetBlock(pool, PRIVATE_BLK_SIZE, NULL);
    if (blk == VB_INVALID_HANDLE) {
        fprintf(stderr, "FAILED: HI_MPI_VB_GetBlock(pool %u) returned VB_INVALID_HANDLE\n", pool);
        goto destroy;
    }
    phys = HI_MPI_VB_Handle2PhysAddr(blk);
    users = HI_MPI_VB_InquireUserCnt(blk);
    printf("private GetBlock: block=%#x phys=%#llx users=%d\n", blk, (unsigned long long)phys, users);
    if (phys == 0 || users != 1) {
        fprintf(stderr, "FAILED: expected a physical address and 1 user\n");
        goto release;
    }

    /* Map the whole pool once; then any block's address is a lookup. */
    ret = HI_MPI_VB_MmapPool(pool);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_MmapPool", ret);
        goto release;
    }
    ret = HI_MPI_VB_GetBlockVirAddr(pool, phys, &vir);
    if (ret != HI_SUCCESS || vir == NULL) {
        report("HI_MPI_VB_GetBlockVirAddr", ret);
        goto unmap;
    }
    memset(vir, 0, PRIVATE_BLK_SIZE);
    strcpy(vir, "private pool block");
    printf("MmapPool + GetBlockVirAddr: wrote \"%s\"\n", (char *)vir);

    /* Check it is really that block: map its physical address on its own. */
    check = HI_MPI_SYS_Mmap(phys, PRIVATE_BLK_SIZE);
    if (check == NULL) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_Mmap returned NULL\n");
        goto unmap;
    }
    if (memcmp(check, vir, PRIVATE_BLK_SIZE) != 0) {
        fprintf(stderr, "FAILED: GetBlockVirAddr's address is not the block at phys %#llx\n", (unsigned long long)phys);
    } else {
        printf("Mmap(phys) of the private block reads \"%s\"\n", (char *)check);
        status = 0;
    }
    ret = HI_MPI_SYS_Munmap(check, PRIVATE_BLK_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_Munmap", ret);
        status = 1;
    }

unmap:
    ret = HI_MPI_VB_MunmapPool(pool);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_MunmapPool", ret);
        status = 1;
    }
release:
    ret = HI_MPI_VB_ReleaseBlock(blk);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_ReleaseBlock", ret);
        status = 1;
    }
destroy:
    ret = HI_MPI_VB_DestroyPool(pool);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_DestroyPool", ret);
        return 1;
    }
    printf("MunmapPool, ReleaseBlock, DestroyPool: ok\n");
    return status;
}

int main(void)
{
    VB_CONFIG_S vb;
    HI_S32 ret;
    int status;

    /* Start-up, in the order of the vendor samples. */
    HI_MPI_SYS_Exit();
    HI_MPI_VB_Exit();

    memset(&vb, 0, sizeof vb);
    vb.u32MaxPoolCnt = 2;
    vb.astCommPool[0].u64BlkSize = SMALL_BLK_SIZE;
    vb.astCommPool[0].u32BlkCnt = 4;
    vb.astCommPool[1].u64BlkSize = LARGE_BLK_SIZE;
    vb.astCommPool[1].u32BlkCnt = 2;
    ret = HI_MPI_VB_SetConfig(&vb);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_SetConfig", ret);
        return 1;
    }
    ret = HI_MPI_VB_Init();
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_Init", ret);
        return 1;
    }
    ret = HI_MPI_SYS_Init();
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_Init", ret);
        HI_MPI_VB_Exit();
        return 1;
    }
    printf("VB_SetConfig + VB_Init + SYS_Init: ok (2 common pools)\n");

    status = use_common_pools();
    status |= use_private_pool();

    /* Shut down in reverse order. */
    ret = HI_MPI_VB_Exit();
    if (ret != HI_SUCCESS) {
        report("HI_MPI_VB_Exit", ret);
        status = 1;
    } else {
        printf("VB_Exit: ok\n");
    }
    ret = HI_MPI_SYS_Exit();
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_Exit", ret);
        status = 1;
    } else {
        printf("SYS_Exit: ok\n");
    }

    printf(status == 0 ? "hisilicon_vb: all steps passed\n" : "hisilicon_vb: FAILED\n");
    return status;
}
