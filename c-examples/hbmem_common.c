/*
 * hbmem_common.c: common buffers with the Horizon hbmem API (hb_mem_mgr.h,
 * libhbmem), in the style of the RDK sample_hbmem programs.
 *
 * A common buffer is one piece of memory, described by hb_mem_common_buf_t:
 * an fd, a share id (to pass it to another process), its size, a virtual
 * address for the CPU and a physical address for the hardware.
 *
 * Steps:
 *   1. hb_mem_module_open (every process, once)
 *   2. hb_mem_alloc_com_buf, cached, CPU read/write
 *   3. write, hb_mem_flush_buf (after the CPU writes)
 *   4. hb_mem_invalidate_buf (before the CPU reads what hardware wrote), read
 *   5. look the buffer up: hb_mem_get_com_buf (by fd),
 *      hb_mem_get_com_buf_with_vaddr, hb_mem_get_phys_addr, hb_mem_is_valid_buf,
 *      hb_mem_get_buf_info (by an address inside it)
 *   6. hb_mem_import_com_buf in the same process: a new fd and a new virtual
 *      address on the same memory; both must be freed
 *   7. hb_mem_strerror of the error a freed fd gives
 *   8. hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_common.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hb_mem_err.h>
#include <hb_mem_mgr.h>

#define BUF_SIZE (64u * 1024)

static const char message[] = "hello from hbmem";

/* Print a failed call with its error code and message. */
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

static int lookups(const hb_mem_common_buf_t *buf)
{
    hb_mem_common_buf_t by_fd, by_vaddr;
    uint64_t vaddr = (uint64_t)(uintptr_t)buf->virt_addr;
    uint64_t phys = 0, start = 0, size = 0;
    int64_t flags = 0;
    int32_t valid = 0;

    CHECK(hb_mem_get_com_buf(buf->fd, &by_fd));
    if (by_fd.phys_addr != buf->phys_addr || by_fd.virt_addr != buf->virt_addr || by_fd.size != buf->size) {
        fprintf(stderr, "FAILED: hb_mem_get_com_buf describes another buffer\n");
        return 1;
    }
    /* Any address inside the buffer finds it. */
    CHECK(hb_mem_get_com_buf_with_vaddr(vaddr + 100, &by_vaddr));
    if (by_vaddr.fd != buf->fd) {
        fprintf(stderr, "FAILED: hb_mem_get_com_buf_with_vaddr found fd %d\n", (int)by_vaddr.fd);
        return 1;
    }
    CHECK(hb_mem_get_phys_addr(vaddr + 100, &phys));
    printf("hb_mem_get_phys_addr(virt + 100) = phys + 100: %s\n", phys == buf->phys_addr + 100 ? "yes" : "no");
    if (phys != buf->phys_addr + 100) {
        return 1;
    }
    CHECK(hb_mem_is_valid_buf(vaddr, BUF_SIZE, &valid));
    printf("hb_mem_is_valid_buf(whole buffer): %d\n", (int)valid);
    if (valid != 1) {
        return 1;
    }
    CHECK(hb_mem_is_valid_buf(vaddr, BUF_SIZE + 1, &valid));
    printf("hb_mem_is_valid_buf(one byte past the end): %d\n", (int)valid);
    if (valid != 0) {
        return 1;
    }
    CHECK(hb_mem_get_buf_info(vaddr + 4096, &start, &size, &flags));
    printf("hb_mem_get_buf_info(virt + 4096): start=virt size=%" PRIu64 " cached=%d\n", size,
           (flags & HB_MEM_USAGE_CACHED) != 0);
    if (start != vaddr || size != BUF_SIZE || flags != buf->flags) {
        return 1;
    }
    return 0;
}

/* Import the buffer in this process, as another thread would. */
static int import_same_process(hb_mem_common_buf_t *buf)
{
    hb_mem_common_buf_t imported;
    int32_t clients = -1;

    CHECK(hb_mem_import_com_buf(buf, &imported));
    printf("hb_mem_import_com_buf: new fd: %s, new virt_addr: %s, same phys: %s\n",
           imported.fd != buf->fd ? "yes" : "no", imported.virt_addr != buf->virt_addr ? "yes" : "no",
           imported.phys_addr == buf->phys_addr ? "yes" : "no");
    if (imported.fd == buf->fd || imported.virt_addr == buf->virt_addr || imported.phys_addr != buf->phys_addr) {
        return 1;
    }
    if (memcmp(imported.virt_addr, message, sizeof message) != 0) {
        fprintf(stderr, "FAILED: the import does not read the message\n");
        return 1;
    }
    CHECK(hb_mem_get_share_info(buf->fd, &clients));
    printf("hb_mem_get_share_info: %d share client(s)\n", (int)clients);
    if (clients != 1) {
        return 1;
    }
    CHECK(hb_mem_free_buf(imported.fd));
    CHECK(hb_mem_get_share_info(buf->fd, &clients));
    if (clients != 0) {
        fprintf(stderr, "FAILED: %d share clients after freeing the import\n", (int)clients);
        return 1;
    }
    printf("hb_mem_free_buf(imported fd): ok\n");
    return 0;
}

int main(void)
{
    hb_mem_common_buf_t buf;
    int64_t flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;
    char msg[HB_MEM_ERR_MAX_STR_SIZE];
    int32_t ret;
    int32_t freed_fd;

    CHECK(hb_mem_module_open());

    memset(&buf, 0, sizeof buf);
    CHECK(hb_mem_alloc_com_buf(BUF_SIZE, flags, &buf));
    printf("hb_mem_alloc_com_buf: fd=%d share_id=%d size=%" PRIu64 " phys=0x%" PRIx64 "\n", (int)buf.fd,
           (int)buf.share_id, buf.size, buf.phys_addr);

    memcpy(buf.virt_addr, message, sizeof message);
    CHECK(hb_mem_flush_buf(buf.fd, 0, buf.size));
    CHECK(hb_mem_invalidate_buf(buf.fd, 0, buf.size));
    printf("hb_mem_flush_buf + hb_mem_invalidate_buf: read back \"%s\"\n", (const char *)buf.virt_addr);
    if (strcmp((const char *)buf.virt_addr, message) != 0) {
        return 1;
    }

    if (lookups(&buf) != 0 || import_same_process(&buf) != 0) {
        return 1;
    }

    freed_fd = buf.fd;
    CHECK(hb_mem_free_buf(buf.fd));
    printf("hb_mem_free_buf: ok\n");

    /* The fd is gone now: the call fails with HB_MEM_ERR_INVALID_FD. */
    ret = hb_mem_flush_buf(freed_fd, 0, BUF_SIZE);
    CHECK(hb_mem_strerror(ret, msg, sizeof msg));
    printf("hb_mem_flush_buf(freed fd): %d \"%s\"\n", (int)ret, msg);
    if (ret != HB_MEM_ERR_INVALID_FD) {
        return 1;
    }

    CHECK(hb_mem_module_close());
    printf("hbmem_common: all steps passed\n");
    return 0;
}
