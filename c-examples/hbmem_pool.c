/*
 * hbmem_pool.c: a memory pool with the Horizon hbmem API, as the RDK
 * sample_pool does.
 *
 * A memory pool is one large buffer the library carves up in this process:
 * allocations from it do not enter the kernel and are page-aligned.
 *
 * Steps:
 *   1. hb_mem_module_open, hb_mem_pool_create (1 MiB, cached)
 *   2. hb_mem_pool_get_info: page size, total and available pages, clients
 *   3. hb_mem_pool_alloc_buf of 100, 4096, 10000 and 65536 bytes: each
 *      page-aligned (virtual and physical), inside the pool
 *   4. write a different byte into each, flush (by address: a block has the
 *      pool's fd and its offset in the pool), invalidate, read all back
 *   5. hb_mem_pool_get_info: pages and clients in use
 *   6. hb_mem_pool_destroy with blocks out: HB_MEM_ERR_POOL_BUSY
 *   7. hb_mem_pool_free_buf each, info back to all pages free,
 *      hb_mem_pool_destroy, hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_pool.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hb_mem_err.h>
#include <hb_mem_mgr.h>

#define POOL_SIZE (1024u * 1024)
#define PAGE 4096u
#define NBUF 4

static const uint64_t sizes[NBUF] = {100, 4096, 10000, 65536};

static int report(const char *call, int32_t ret)
{
    char msg[HB_MEM_ERR_MAX_STR_SIZE];

    fprintf(stderr, "FAILED: %s returned %d (%s)\n", call, (int)ret,
            hb_mem_make_error_string(ret, msg, sizeof msg));
    return 1;
}

#define CHECK(call)                        \
    do {                                   \
        int32_t ret_ = (call);             \
        if (ret_ != 0) {                   \
            return report(#call, ret_);    \
        }                                  \
    } while (0)

#define EXPECT(cond)                                            \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "FAILED: expected %s\n", #cond);    \
            return 1;                                           \
        }                                                       \
    } while (0)

static void print_info(const char *when, const hb_mem_pool_t *p)
{
    printf("hb_mem_pool_get_info (%s): size=%" PRIu64 " page_size=%d total_pages=%d avail_pages=%d clients=%d\n", when,
           p->size, (int)p->page_size, (int)p->total_page_cnt, (int)p->avail_page_cnt, (int)p->cur_client_cnt);
}

static int filled_with(const uint8_t *p, uint64_t len, uint8_t v)
{
    uint64_t i;

    for (i = 0; i < len; i++) {
        if (p[i] != v) {
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    int64_t flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;
    hb_mem_pool_t pool, info;
    hb_mem_common_buf_t whole, bufs[NBUF];
    uint64_t pages_used = 0;
    int32_t ret;
    int i;

    CHECK(hb_mem_module_open());
    memset(&pool, 0, sizeof pool);
    CHECK(hb_mem_pool_create(POOL_SIZE, flags, &pool));
    printf("hb_mem_pool_create: fd=%d size=%" PRIu64 "\n", (int)pool.fd, pool.size);

    CHECK(hb_mem_pool_get_info(pool.fd, &info));
    print_info("new pool", &info);
    EXPECT(info.page_size == PAGE && info.total_page_cnt == POOL_SIZE / PAGE);
    EXPECT(info.avail_page_cnt == info.total_page_cnt && info.cur_client_cnt == 0);
    /* The pool is itself a common buffer. */
    CHECK(hb_mem_get_com_buf(pool.fd, &whole));
    EXPECT(whole.size == POOL_SIZE);

    for (i = 0; i < NBUF; i++) {
        uint64_t va;

        CHECK(hb_mem_pool_alloc_buf(pool.fd, sizes[i], &bufs[i]));
        va = (uint64_t)(uintptr_t)bufs[i].virt_addr;
        printf("hb_mem_pool_alloc_buf(%" PRIu64 "): size=%" PRIu64 " fd=%d offset=%" PRIu64
               " page-aligned virt: %s, phys: %s\n",
               sizes[i], bufs[i].size, (int)bufs[i].fd, bufs[i].offset, va % PAGE == 0 ? "yes" : "no",
               bufs[i].phys_addr % PAGE == 0 ? "yes" : "no");
        EXPECT(va % PAGE == 0 && bufs[i].phys_addr % PAGE == 0 && bufs[i].size >= sizes[i]);
        EXPECT(bufs[i].phys_addr == whole.phys_addr + bufs[i].offset && bufs[i].offset + sizes[i] <= POOL_SIZE);
        EXPECT(bufs[i].virt_addr == whole.virt_addr + bufs[i].offset);
        pages_used += (sizes[i] + PAGE - 1) / PAGE;
    }

    for (i = 0; i < NBUF; i++) {
        memset(bufs[i].virt_addr, 0xA0 + i, sizes[i]);
        /* A block shares the pool's fd: flush it by its own address. */
        CHECK(hb_mem_flush_buf_with_vaddr((uint64_t)(uintptr_t)bufs[i].virt_addr, sizes[i]));
    }
    /* Read back only after all writes: no block overlaps another. */
    for (i = 0; i < NBUF; i++) {
        CHECK(hb_mem_invalidate_buf(bufs[i].fd, bufs[i].offset, sizes[i]));
        EXPECT(filled_with(bufs[i].virt_addr, sizes[i], (uint8_t)(0xA0 + i)));
    }
    printf("wrote, flushed, invalidated and read back %d blocks\n", NBUF);

    CHECK(hb_mem_pool_get_info(pool.fd, &info));
    print_info("4 blocks out", &info);
    EXPECT(info.cur_client_cnt == NBUF && (uint64_t)(info.total_page_cnt - info.avail_page_cnt) == pages_used);

    ret = hb_mem_pool_destroy(pool.fd);
    printf("hb_mem_pool_destroy with blocks out: %d (%s)\n", (int)ret,
           ret == HB_MEM_ERR_POOL_BUSY ? "HB_MEM_ERR_POOL_BUSY, as expected" : "unexpected");
    EXPECT(ret == HB_MEM_ERR_POOL_BUSY);

    for (i = 0; i < NBUF; i++) {
        CHECK(hb_mem_pool_free_buf((uint64_t)(uintptr_t)bufs[i].virt_addr));
    }
    CHECK(hb_mem_pool_get_info(pool.fd, &info));
    print_info("all freed", &info);
    EXPECT(info.avail_page_cnt == info.total_page_cnt && info.cur_client_cnt == 0);

    CHECK(hb_mem_pool_destroy(pool.fd));
    printf("hb_mem_pool_destroy: ok\n");
    CHECK(hb_mem_module_close());
    printf("hbmem_pool: all steps passed\n");
    return 0;
}
