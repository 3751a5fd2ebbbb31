/*
 * rknn_cross_api.c: one memory, two APIs. Buffers made by HiSilicon's MMZ
 * API or by the program itself are handed to the Rockchip RKNPU2 runtime,
 * and RKNN buffers are reached through plain mmap and the MMZ API.
 * accelmem serves both APIs from one physical space, so a physical address
 * or a dma-buf fd means the same bytes to either.
 *
 * Steps:
 *   1. rknn_init: a memory-only context (accelmem keeps the model blob as
 *      weight memory; any bytes will do)
 *   2. HI_MPI_SYS_MmzAlloc, then rknn_create_mem_from_phys at the block's
 *      start and at an interior page: writes through the MMZ mapping show in
 *      both RKNN views and the other way round. rknn_mem_sync refuses
 *      wrapped memory (RKNN_ERR_FAIL): its owner syncs it.
 *   3. a memfd (memfd_create + ftruncate + mmap), wrapped with
 *      rknn_create_mem_from_fd at an offset: both views see each other's
 *      writes
 *   4. rknn_create_mem: its dma-buf fd mapped by the program with
 *      mmap(fd, 0) shows the same bytes
 *   5. the RKNN buffer's physical address mapped with HI_MPI_SYS_Mmap shows
 *      the same bytes
 *   6. destroy everything: wrapped memory is only unwrapped (its owner frees
 *      it), memory made by rknn_create_mem is freed
 *
 * Build: cc -Wall -Wextra -Werror -I include rknn_cross_api.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hi_type.h"
#include "hi_comm_sys.h"
#include "mpi_sys.h"
#include "rknn_api.h"

#define PAGE 4096
#define MMZ_SIZE (16 * PAGE)
#define INTERIOR_PAGE 3 /* the interior view starts at this page of the MMZ block */
#define INTERIOR_SIZE (2 * PAGE)
#define MEMFD_SIZE (16 * PAGE)
#define MEMFD_OFFSET (2 * PAGE) /* where the RKNN view of the memfd starts */
#define MEMFD_VIEW_SIZE (4 * PAGE)
#define RKNN_SIZE (4 * PAGE)

static char model[] = "model blob (kept as weight memory)";

static int failed(const char *call, int ret)
{
    fprintf(stderr, "FAILED: %s returned %d (%#x)\n", call, ret, (unsigned)ret);
    return 1;
}

/* Write `text` at `dst`, then check it reads back at `seen`. */
static int write_and_see(void *dst, const void *seen, const char *text, const char *what)
{
    size_t n = strlen(text) + 1;
    memcpy(dst, text, n);
    if (memcmp(seen, text, n) != 0) {
        fprintf(stderr, "FAILED: %s: wrote \"%s\", the other view does not show it\n", what, text);
        return 0;
    }
    printf("%s: \"%s\"\n", what, (const char *)seen);
    return 1;
}

/* 2. An MMZ block wrapped by physical address. */
static int mmz_block(rknn_context ctx)
{
    HI_U64 phys = 0;
    HI_VOID *vir = NULL;
    rknn_tensor_mem *whole = NULL, *inner = NULL;
    uint8_t *mmz, *inner_in_mmz;
    int ret, ok = 0;

    ret = HI_MPI_SYS_MmzAlloc(&phys, &vir, "rknn_cross_api", "anonymous", MMZ_SIZE);
    if (ret != HI_SUCCESS)
        return !failed("HI_MPI_SYS_MmzAlloc", ret);
    mmz = vir;
    inner_in_mmz = mmz + INTERIOR_PAGE * PAGE;
    printf("HI_MPI_SYS_MmzAlloc: phys=%#llx size=%d\n", (unsigned long long)phys, MMZ_SIZE);

    whole = rknn_create_mem_from_phys(ctx, phys, NULL, MMZ_SIZE);
    inner = rknn_create_mem_from_phys(ctx, phys + INTERIOR_PAGE * PAGE, NULL, INTERIOR_SIZE);
    if (whole == NULL || inner == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem_from_phys returned NULL (start: %p, interior page: %p)\n",
                (void *)whole, (void *)inner);
        goto out;
    }
    if (whole->phys_addr != phys || inner->phys_addr != phys + INTERIOR_PAGE * PAGE ||
        whole->flags != RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS || inner->flags != RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS ||
        whole->size != MMZ_SIZE || inner->size != INTERIOR_SIZE) {
        fprintf(stderr, "FAILED: unexpected phys_addr, flags or size of the wrapped memories\n");
        goto out;
    }
    printf("rknn_create_mem_from_phys: at the block start (phys=%#llx) and at page %d (phys=%#llx)\n",
           (unsigned long long)whole->phys_addr, INTERIOR_PAGE, (unsigned long long)inner->phys_addr);

    if (!write_and_see(mmz + 100, (uint8_t *)whole->virt_addr + 100, "written through the MMZ mapping",
                       "MMZ write, read through the RKNN view of the block") ||
        !write_and_see(inner_in_mmz + 8, (uint8_t *)inner->virt_addr + 8, "MMZ write in the interior page",
                       "MMZ write, read through the interior RKNN view") ||
        !write_and_see((uint8_t *)inner->virt_addr + 200, inner_in_mmz + 200, "written through the interior view",
                       "interior RKNN view write, read through the MMZ mapping") ||
        !write_and_see((uint8_t *)inner->virt_addr + 300, (uint8_t *)whole->virt_addr + INTERIOR_PAGE * PAGE + 300,
                       "interior view write", "interior RKNN view write, read through the block's RKNN view"))
        goto out;

    /* Wrapped memory has no NPU cache object: its owner syncs it. */
    ret = rknn_mem_sync(ctx, whole, RKNN_MEMORY_SYNC_TO_DEVICE);
    if (ret != RKNN_ERR_FAIL) {
        fprintf(stderr, "FAILED: rknn_mem_sync of wrapped memory returned %d, expected RKNN_ERR_FAIL\n", ret);
        goto out;
    }
    printf("rknn_mem_sync(wrapped MMZ memory): RKNN_ERR_FAIL, as expected\n");
    ok = 1;

out:
    if (inner != NULL && (ret = rknn_destroy_mem(ctx, inner)) != RKNN_SUCC)
        ok = !failed("rknn_destroy_mem(interior view)", ret);
    if (whole != NULL && (ret = rknn_destroy_mem(ctx, whole)) != RKNN_SUCC)
        ok = !failed("rknn_destroy_mem(block view)", ret);
    /* Unwrapping left the block to its owner: still there, still its bytes. */
    if (ok && strcmp((const char *)inner_in_mmz + 200, "written through the interior view") != 0) {
        fprintf(stderr, "FAILED: the MMZ block lost its bytes when the RKNN views were destroyed\n");
        ok = 0;
    }
    ret = HI_MPI_SYS_MmzFree(phys, vir);
    if (ret != HI_SUCCESS)
        ok = !failed("HI_MPI_SYS_MmzFree", ret);
    if (ok)
        printf("rknn_destroy_mem (views), HI_MPI_SYS_MmzFree: ok\n");
    return ok;
}

/* 3. A memfd wrapped by fd. */
static int memfd(rknn_context ctx)
{
    rknn_tensor_mem *view = NULL;
    uint8_t *map = MAP_FAILED, *rk;
    int fd, ret, ok = 0;

    fd = memfd_create("rknn_cross_api", MFD_CLOEXEC);
    if (fd < 0) {
        perror("FAILED: memfd_create");
        return 0;
    }
    if (ftruncate(fd, MEMFD_SIZE) != 0) {
        perror("FAILED: ftruncate");
        goto out;
    }
    map = mmap(NULL, MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("FAILED: mmap of the memfd");
        goto out;
    }
    /* virt_addr NULL: the runtime maps the fd itself. */
    view = rknn_create_mem_from_fd(ctx, fd, NULL, MEMFD_VIEW_SIZE, MEMFD_OFFSET);
    if (view == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem_from_fd(memfd) returned NULL\n");
        goto out;
    }
    if (view->flags != RKNN_TENSOR_MEMORY_FLAGS_FROM_FD || view->offset != MEMFD_OFFSET ||
        view->size != MEMFD_VIEW_SIZE || view->virt_addr == NULL || view->phys_addr == 0) {
        fprintf(stderr, "FAILED: unexpected flags, offset, size or addresses of the memfd view\n");
        goto out;
    }
    printf("rknn_create_mem_from_fd(memfd, offset %d, size %d): device address %#llx\n", MEMFD_OFFSET,
           MEMFD_VIEW_SIZE, (unsigned long long)view->phys_addr);
    /* virt_addr is the fd's start: the view's bytes begin at virt_addr + offset. */
    rk = (uint8_t *)view->virt_addr + view->offset;
    if (!write_and_see(map + MEMFD_OFFSET + 16, rk + 16, "written through the program's memfd mapping",
                       "memfd write, read through the RKNN view") ||
        !write_and_see(rk + MEMFD_VIEW_SIZE - 64, map + MEMFD_OFFSET + MEMFD_VIEW_SIZE - 64,
                       "written through the RKNN view", "RKNN view write, read through the memfd mapping"))
        goto out;
    ok = 1;

out:
    if (view != NULL && (ret = rknn_destroy_mem(ctx, view)) != RKNN_SUCC)
        ok = !failed("rknn_destroy_mem(memfd view)", ret);
    if (ok && strcmp((const char *)map + MEMFD_OFFSET + MEMFD_VIEW_SIZE - 64, "written through the RKNN view") != 0) {
        fprintf(stderr, "FAILED: the memfd lost its bytes when the RKNN view was destroyed\n");
        ok = 0;
    }
    if (map != MAP_FAILED)
        munmap(map, MEMFD_SIZE);
    close(fd);
    if (ok)
        printf("rknn_destroy_mem (memfd view): ok, the memfd keeps its bytes\n");
    return ok;
}

/* 4 and 5. An RKNN buffer reached through its fd and its physical address. */
static int rknn_buffer(rknn_context ctx)
{
    rknn_tensor_mem *mem;
    uint8_t *by_fd = MAP_FAILED, *by_phys = NULL;
    int ret, ok = 0;

    mem = rknn_create_mem(ctx, RKNN_SIZE);
    if (mem == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem(%d) returned NULL\n", RKNN_SIZE);
        return 0;
    }
    printf("rknn_create_mem(%d): fd=%d phys=%#llx\n", RKNN_SIZE, mem->fd, (unsigned long long)mem->phys_addr);
    memset(mem->virt_addr, 0, mem->size);
    strcpy(mem->virt_addr, "written through rknn_tensor_mem.virt_addr");
    ret = rknn_mem_sync(ctx, mem, RKNN_MEMORY_SYNC_TO_DEVICE);
    if (ret != RKNN_SUCC) {
        failed("rknn_mem_sync(TO_DEVICE)", ret);
        goto out;
    }

    /* 4. The dma-buf fd, mapped by the program. */
    by_fd = mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_SHARED, mem->fd, 0);
    if (by_fd == MAP_FAILED) {
        perror("FAILED: mmap(rknn_tensor_mem.fd, 0)");
        goto out;
    }
    if (strcmp((const char *)by_fd, "written through rknn_tensor_mem.virt_addr") != 0) {
        fprintf(stderr, "FAILED: mmap of the RKNN fd does not show what was written through virt_addr\n");
        goto out;
    }
    printf("mmap(rknn fd, 0) reads \"%s\"\n", (const char *)by_fd);
    strcpy((char *)by_fd + 1024, "written through the program's mmap of the fd");
    ret = rknn_mem_sync(ctx, mem, RKNN_MEMORY_SYNC_FROM_DEVICE);
    if (ret != RKNN_SUCC) {
        failed("rknn_mem_sync(FROM_DEVICE)", ret);
        goto out;
    }
    if (strcmp((const char *)mem->virt_addr + 1024, "written through the program's mmap of the fd") != 0) {
        fprintf(stderr, "FAILED: virt_addr does not show what was written through the fd mapping\n");
        goto out;
    }
    printf("virt_addr reads \"%s\"\n", (const char *)mem->virt_addr + 1024);

    /* 5. The physical address, mapped with the MMZ API. */
    by_phys = HI_MPI_SYS_Mmap(mem->phys_addr, mem->size);
    if (by_phys == NULL) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_Mmap(rknn phys_addr) returned NULL\n");
        goto out;
    }
    if (memcmp(by_phys, mem->virt_addr, mem->size) != 0) {
        fprintf(stderr, "FAILED: HI_MPI_SYS_Mmap of the RKNN buffer does not show its bytes\n");
        goto out;
    }
    printf("HI_MPI_SYS_Mmap(rknn phys_addr) reads \"%s\"\n", (const char *)by_phys);
    strcpy((char *)by_phys + 2048, "written through HI_MPI_SYS_Mmap");
    if (strcmp((const char *)mem->virt_addr + 2048, "written through HI_MPI_SYS_Mmap") != 0 ||
        strcmp((const char *)by_fd + 2048, "written through HI_MPI_SYS_Mmap") != 0) {
        fprintf(stderr, "FAILED: a write through HI_MPI_SYS_Mmap does not show in virt_addr and the fd mapping\n");
        goto out;
    }
    printf("virt_addr and the fd mapping read \"%s\"\n", (const char *)mem->virt_addr + 2048);
    ok = 1;

out:
    if (by_phys != NULL && (ret = HI_MPI_SYS_Munmap(by_phys, mem->size)) != HI_SUCCESS)
        ok = !failed("HI_MPI_SYS_Munmap", ret);
    if (by_fd != MAP_FAILED)
        munmap(by_fd, mem->size);
    if ((ret = rknn_destroy_mem(ctx, mem)) != RKNN_SUCC)
        ok = !failed("rknn_destroy_mem", ret);
    if (ok)
        printf("HI_MPI_SYS_Munmap, munmap, rknn_destroy_mem: ok\n");
    return ok;
}

int main(void)
{
    rknn_context ctx = 0;
    int ret, ok;

    /* 1. */
    ret = rknn_init(&ctx, model, sizeof(model), 0, NULL);
    if (ret != RKNN_SUCC)
        return failed("rknn_init", ret);
    printf("rknn_init: ok\n");

    /* Each step cleans up after itself, so run them all. */
    ok = mmz_block(ctx);
    ok = memfd(ctx) && ok;
    ok = rknn_buffer(ctx) && ok;

    ret = rknn_destroy(ctx);
    if (ret != RKNN_SUCC)
        return failed("rknn_destroy", ret);
    printf("rknn_destroy: ok\n");
    if (!ok)
        return 1;
    printf("rknn_cross_api: all steps passed\n");
    return 0;
}
