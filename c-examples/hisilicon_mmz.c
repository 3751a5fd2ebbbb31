/*
 * hisilicon_mmz.c: a first program with the HiSilicon MPP (V4) MMZ API.
 *
 * MMZ ("media memory zone") is physical memory set aside for the video and
 * AI hardware. A program allocates a block, gets its physical address (for
 * the hardware) and a virtual address (for the CPU), and frees it again.
 *
 * Steps:
 *   1. HI_MPI_SYS_MmzAlloc:        an uncached block named "mmz_example"
 *   2. HI_MPI_SYS_MmzAlloc_Cached: a cached block named "mmz_example_cached"
 *   3. write a message into the cached block with the CPU
 *   4. HI_MPI_SYS_MmzFlushCache:   push the CPU cache out to memory, so the
 *                                  hardware (which reads memory) sees it
 *   5. HI_MPI_SYS_GetVirMemInfo:   ask which physical address a CPU pointer
 *                                  is, and whether it is cached
 *   6. HI_MPI_SYS_Mmap:            map the cached block's physical address a
 *                                  second time and see the same bytes
 *   7. HI_MPI_SYS_Munmap, HI_MPI_SYS_MmzFree (both blocks)
 *
 * Build: cc -Wall -Wextra -Werror -I include hisilicon_mmz.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "hi_type.h"
#include "hi_comm_sys.h"
#include "mpi_sys.h"

#define BLOCK_SIZE (64 * 1024) /* bytes in each block */

static const char MESSAGE[] = "hello from the CPU, written through a cached mapping";

/* Print a failed call and its error code (HI_ERR_SYS_* are 0xA002xxxx). */
static void report(const char *call, HI_S32 ret)
{
    fprintf(stderr, "FAILED: %s returned %#x\n", call, (unsigned)ret);
}

int main(void)
{
    HI_U64 phys = 0, phys_cached = 0;
    HI_VOID *vir = NULL, *vir_cached = NULL;
    HI_VOID *second_view = NULL;
    SYS_VIRMEM_INFO_S info;
    HI_S32 ret;
    int status = 1; /* becomes 0 only when every step passed */

    /* 1. An uncached block. The zone "anonymous" is the default MMZ zone. */
    ret = HI_MPI_SYS_MmzAlloc(&phys, &vir, "mmz_example", "anonymous", BLOCK_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_MmzAlloc", ret);
        return 1;
    }
    printf("MmzAlloc: phys=%#llx size=%d name=\"mmz_example\"\n", (unsigned long long)phys, BLOCK_SIZE);

    /* 2. A cached block: faster for the CPU, but needs cache flushes. */
    ret = HI_MPI_SYS_MmzAlloc_Cached(&phys_cached, &vir_cached, "mmz_example_cached", "anonymous", BLOCK_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_MmzAlloc_Cached", ret);
        goto free_uncached;
    }
    printf("MmzAlloc_Cached: phys=%#llx size=%d name=\"mmz_example_cached\"\n",
           (unsigned long long)phys_cached, BLOCK_SIZE);

    /* 3. The CPU writes through its (cached) virtual address. */
    memset(vir_cached, 0, BLOCK_SIZE);
    memcpy(vir_cached, MESSAGE, sizeof MESSAGE);
    printf("wrote: \"%s\"\n", (const char *)vir_cached);

    /* 4. Flush the cache so the bytes are in memory, not only in the CPU. */
    ret = HI_MPI_SYS_MmzFlushCache(phys_cached, vir_cached, BLOCK_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_MmzFlushCache", ret);
        goto free_both;
    }
    printf("MmzFlushCache: ok\n");

    /* 5. A pointer into the middle of a block maps back to its physical address. */
    ret = HI_MPI_SYS_GetVirMemInfo((const char *)vir_cached + 100, &info);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_GetVirMemInfo", ret);
        goto free_both;
    }
    printf("GetVirMemInfo(vir_cached + 100): phys=%#llx cached=%d\n", (unsigned long long)info.u64PhyAddr, info.bCached);
    if (info.u64PhyAddr != phys_cached + 100 || info.bCached != HI_TRUE) {
        fprintf(stderr, "FAILED: expected phys=%#llx cached=1\n", (unsigned long long)(phys_cached + 100));
        goto free_both;
    }
    ret = HI_MPI_SYS_GetVirMemInfo(vir, &info);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_GetVirMemInfo", ret);
        goto free_both;
    }
    printf("GetVirMemInfo(vir): phys=%#llx cached=%d\n", (unsigned long long)info.u64PhyAddr, info.bCached);
    if (info.u64PhyAddr != phys || info.bCached != HI_FALSE) {
        fprintf(stderr, "FAILED: expected phys=%#llx cached=0\n", (unsigned long long)phys);
        goto free_both;
    }

    /* 6. Map the same physical memory again: it holds the flushed bytes.
     * (This is how another process or library reaches a block whose
     * physical address it was given.) */
    second_view = HI_MPI_SYS_Mmap(phys_cached, BLOCK_SIZE);
    if (second_view == NULL) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_Mmap returned NULL\n");
        goto free_both;
    }
    if (second_view == vir_cached || memcmp(second_view, vir_cached, BLOCK_SIZE) != 0) {
        fprintf(stderr, "FAILED: the Mmap view does not show the block's bytes\n");
        HI_MPI_SYS_Munmap(second_view, BLOCK_SIZE);
        goto free_both;
    }
    printf("Mmap(phys_cached): a second mapping reads \"%s\"\n", (const char *)second_view);

    ret = HI_MPI_SYS_Munmap(second_view, BLOCK_SIZE);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_Munmap", ret);
        goto free_both;
    }
    printf("Munmap: ok\n");
    status = 0;

    /* 7. Free both blocks (by physical address; the virtual one is checked). */
free_both:
    ret = HI_MPI_SYS_MmzFree(phys_cached, vir_cached);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_MmzFree (cached)", ret);
        status = 1;
    } else {
        printf("MmzFree(phys_cached): ok\n");
    }
free_uncached:
    ret = HI_MPI_SYS_MmzFree(phys, vir);
    if (ret != HI_SUCCESS) {
        report("HI_MPI_SYS_MmzFree", ret);
        status = 1;
    } else {
        printf("MmzFree(phys): ok\n");
    }

    printf(status == 0 ? "hisilicon_mmz: all steps passed\n" : "hisilicon_mmz: FAILED\n");
    return status;
}
