/*
 * horizon_hbsys.c: a first program with the Horizon BPU memory API
 * (dnn/hb_sys.h, the hbSys* calls of libdnn).
 *
 * An hbSysMem describes one block: its physical address (for the BPU), a
 * virtual address (for the CPU) and its size.
 *
 * Steps:
 *   1. hbSysAllocCachedMem:            a cacheable block
 *   2. hbSysWriteMem, then hbSysFlushMem(HB_SYS_MEM_CACHE_CLEAN):
 *                                      write input, push it out to memory
 *                                      (CLEAN: after the CPU writes)
 *   3. hbSysFlushMem(HB_SYS_MEM_CACHE_INVALIDATE), then hbSysReadMem:
 *                                      drop stale cache lines, read back
 *                                      (INVALIDATE: before the CPU reads)
 *   4. hbSysRegisterMem of memory from another API: allocate an MMZ block
 *      with HI_MPI_SYS_MmzAlloc, register its physical range with
 *      virAddr = NULL (the library maps it), and read the same bytes;
 *      then hbSysUnregisterMem and HI_MPI_SYS_MmzFree
 *   5. registering a range that is not an allocated block (the MMZ block we
 *      just freed) fails with HB_SYS_REGISTER_MEM_FAILED
 *   6. hbSysFreeMem
 *
 * Build: cc -Wall -Wextra -Werror -I include horizon_hbsys.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dnn/hb_sys.h"
#include "hi_type.h"
#include "mpi_sys.h"

#define BLOCK_SIZE 4096u      /* the hbSys block */
#define MMZ_SIZE (64u * 1024) /* the MMZ block registered with hbSys */

static char input[] = "tensor data for the BPU";

/* Print a failed call and its error code (HB_SYS_* are -6000129...). */
static void report(const char *call, int32_t ret)
{
    fprintf(stderr, "FAILED: %s returned %d\n", call, (int)ret);
}

/* Step 4 and 5: hbSys memory made from an MMZ block. Returns 0 on success. */
static int register_mmz_block(void)
{
    HI_U64 phys = 0;
    HI_VOID *vir = NULL;
    hbSysMem reg;
    char out[sizeof input];
    HI_S32 hi_ret;
    int32_t ret;
    int status = 1;

    hi_ret = HI_MPI_SYS_MmzAlloc(&phys, &vir, "hb_register_example", NULL, MMZ_SIZE);
    if (hi_ret != HI_SUCCESS) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_MmzAlloc returned %#x\n", (unsigned)hi_ret);
        return 1;
    }
    memset(vir, 0, MMZ_SIZE);
    memcpy(vir, input, sizeof input);
    printf("HI_MPI_SYS_MmzAlloc: phys=%#llx size=%u, wrote \"%s\"\n", (unsigned long long)phys, MMZ_SIZE, (char *)vir);

    /* Register the physical range; virAddr NULL asks hbSys to map it. */
    memset(&reg, 0, sizeof reg);
    reg.phyAddr = phys;
    reg.virAddr = NULL;
    reg.memSize = MMZ_SIZE;
    ret = hbSysRegisterMem(&reg);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysRegisterMem", ret);
        goto free_mmz;
    }
    if (reg.virAddr == NULL) {
        fprintf(stderr, "FAILED: hbSysRegisterMem left virAddr NULL\n");
        goto unregister;
    }
    printf("hbSysRegisterMem: phys=%#llx mapped\n", (unsigned long long)reg.phyAddr);

    /* The hbSys view shows what was written through the MMZ view. */
    ret = hbSysFlushMem(&reg, HB_SYS_MEM_CACHE_INVALIDATE);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysFlushMem(registered, INVALIDATE)", ret);
        goto unregister;
    }
    ret = hbSysReadMem(out, &reg, sizeof out);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysReadMem(registered)", ret);
        goto unregister;
    }
    if (memcmp(out, input, sizeof input) != 0 || memcmp(reg.virAddr, vir, MMZ_SIZE) != 0) {
        fprintf(stderr, "FAILED: the registered memory does not show the MMZ block's bytes\n");
        goto unregister;
    }
    printf("registered memory reads \"%s\" (same bytes as the MMZ block)\n", out);
    status = 0;

unregister:
    ret = hbSysUnregisterMem(&reg);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysUnregisterMem", ret);
        status = 1;
    } else {
        printf("hbSysUnregisterMem: ok\n");
    }
free_mmz:
    hi_ret = HI_MPI_SYS_MmzFree(phys, vir);
    if (hi_ret != HI_SUCCESS) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_MmzFree returned %#x\n", (unsigned)hi_ret);
        return 1;
    }
    printf("HI_MPI_SYS_MmzFree: ok\n");
    if (status != 0) {
        return status;
    }

    /* 5. The freed range is no block of ours any more: registering it fails. */
    memset(&reg, 0, sizeof reg);
    reg.phyAddr = phys;
    reg.memSize = MMZ_SIZE;
    ret = hbSysRegisterMem(&reg);
    if (ret != HB_SYS_REGISTER_MEM_FAILED) {
        fprintf(stderr, "FAILED: registering a freed range returned %d, expected HB_SYS_REGISTER_MEM_FAILED (%d)\n",
                (int)ret, HB_SYS_REGISTER_MEM_FAILED);
        if (ret == HB_SYS_SUCCESS) {
            hbSysUnregisterMem(&reg);
        }
        return 1;
    }
    printf("hbSysRegisterMem(range not ours): HB_SYS_REGISTER_MEM_FAILED (%d), as expected\n", (int)ret);
    return 0;
}

int main(void)
{
    hbSysMem mem;
    char out[sizeof input];
    int32_t ret;
    int status = 1;

    /* 1. A cacheable block. */
    memset(&mem, 0, sizeof mem);
    ret = hbSysAllocCachedMem(&mem, BLOCK_SIZE);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysAllocCachedMem", ret);
        return 1;
    }
    printf("hbSysAllocCachedMem: phys=%#llx size=%u\n", (unsigned long long)mem.phyAddr, mem.memSize);

    /* 2. Write, then CLEAN so the BPU (which reads memory) sees it. */
    ret = hbSysWriteMem(&mem, input, sizeof input);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysWriteMem", ret);
        goto free_mem;
    }
    ret = hbSysFlushMem(&mem, HB_SYS_MEM_CACHE_CLEAN);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysFlushMem(CLEAN)", ret);
        goto free_mem;
    }
    printf("hbSysWriteMem + hbSysFlushMem(CLEAN): wrote \"%s\"\n", input);

    /* 3. INVALIDATE before reading what the BPU may have written, then read. */
    ret = hbSysFlushMem(&mem, HB_SYS_MEM_CACHE_INVALIDATE);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysFlushMem(INVALIDATE)", ret);
        goto free_mem;
    }
    memset(out, 0, sizeof out);
    ret = hbSysReadMem(out, &mem, sizeof out);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysReadMem", ret);
        goto free_mem;
    }
    if (memcmp(out, input, sizeof input) != 0) {
        fprintf(stderr, "FAILED: hbSysReadMem returned different bytes\n");
        goto free_mem;
    }
    printf("hbSysFlushMem(INVALIDATE) + hbSysReadMem: read back \"%s\"\n", out);

    /* 4 and 5. */
    status = register_mmz_block();

    /* 6. */
free_mem:
    ret = hbSysFreeMem(&mem);
    if (ret != HB_SYS_SUCCESS) {
        report("hbSysFreeMem", ret);
        status = 1;
    } else {
        printf("hbSysFreeMem: ok\n");
    }

    printf(status == 0 ? "horizon_hbsys: all steps passed\n" : "horizon_hbsys: FAILED\n");
    return status;
}
