/*
 * hbmem_share_pool.c: a share pool with the Horizon hbmem API, as the RDK
 * sample_share_pool does, with a second process importing a block.
 *
 * A share pool holds `num` buffers of one size. A block taken from it is
 * described by an ordinary hb_mem_common_buf_t, which another process
 * imports by value (hb_mem_import_com_buf) to reach the same memory. The
 * block goes back to the pool once the process that allocated it and every
 * process that imported it have freed it.
 *
 * Steps:
 *   parent                                  child
 *   hb_mem_module_open                      hb_mem_module_open
 *   hb_mem_share_pool_create(4 x 64 KiB),
 *   hb_mem_share_pool_get_info,
 *   hb_mem_share_pool_alloc_buf, write,
 *   flush, hb_mem_get_share_info
 *   send the struct                   -->   receive it, hb_mem_import_com_buf,
 *                                           invalidate, read the parent's
 *                                           bytes, hb_mem_get_share_info,
 *                                           write a reply, flush,
 *                                           hb_mem_free_buf(import),
 *                                           hb_mem_module_close
 *   invalidate, read the reply        <--   the count it saw, _exit
 *   hb_mem_wait_share_status: clients back to the count before sharing,
 *   hb_mem_share_pool_destroy with the block out: HB_MEM_ERR_POOL_BUSY,
 *   hb_mem_share_pool_free_buf, all 4 available again,
 *   hb_mem_share_pool_destroy, hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_share_pool.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded in both processes, 1 otherwise.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hb_mem_err.h>
#include <hb_mem_mgr.h>

#define NUM_BUFS 4
#define BUF_SIZE (64u * 1024)
#define REPLY_AT 4096
#define WAIT_MS 5000

static const char request[] = "block from the parent";
static const char reply[] = "reply from the child";

static int report(const char *who, const char *call, int32_t ret)
{
    char msg[HB_MEM_ERR_MAX_STR_SIZE];

    fprintf(stderr, "FAILED: %s: %s returned %d (%s)\n", who, call, (int)ret,
            hb_mem_make_error_string(ret, msg, sizeof msg));
    return 1;
}

#define CHECK(who, call)                     \
    do {                                     \
        int32_t ret_ = (call);               \
        if (ret_ != 0) {                     \
            return report(who, #call, ret_); \
        }                                    \
    } while (0)

#define EXPECT(who, cond)                                          \
    do {                                                           \
        if (!(cond)) {                                             \
            fprintf(stderr, "FAILED: %s: expected %s\n", who, #cond); \
            return 1;                                              \
        }                                                          \
    } while (0)

/* Exactly `len` bytes, or -1. */
static int recv_all(int sock, void *p, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(sock, (char *)p + got, len - got, 0);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int child(int sock)
{
    hb_mem_common_buf_t in_buf, buf;
    int32_t clients = -1;

    CHECK("child", hb_mem_module_open());
    if (recv_all(sock, &in_buf, sizeof in_buf) != 0) {
        fprintf(stderr, "FAILED: child: no block received\n");
        return 1;
    }
    CHECK("child", hb_mem_import_com_buf(&in_buf, &buf));
    CHECK("child", hb_mem_invalidate_buf(buf.fd, 0, buf.size));
    printf("child: imported the block: size=%" PRIu64 ", same phys: %s, reads \"%s\"\n", buf.size,
           buf.phys_addr == in_buf.phys_addr ? "yes" : "no", (const char *)buf.virt_addr);
    EXPECT("child", buf.phys_addr == in_buf.phys_addr && buf.size == in_buf.size);
    EXPECT("child", strcmp((const char *)buf.virt_addr, request) == 0);
    CHECK("child", hb_mem_get_share_info(buf.fd, &clients));
    printf("child: share clients while imported: %d\n", (int)clients);

    memcpy(buf.virt_addr + REPLY_AT, reply, sizeof reply);
    CHECK("child", hb_mem_flush_buf(buf.fd, REPLY_AT, sizeof reply));
    CHECK("child", hb_mem_free_buf(buf.fd));
    CHECK("child", hb_mem_module_close());
    printf("child: reply written, import freed\n");
    fflush(stdout);
    /* "Done", with the count seen while holding the import. */
    if (send(sock, &clients, sizeof clients, 0) != (ssize_t)sizeof clients) {
        fprintf(stderr, "FAILED: child: lost the parent\n");
        return 1;
    }
    return 0;
}

static int parent(int sock)
{
    int64_t flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;
    hb_mem_share_pool_t pool, info;
    hb_mem_common_buf_t blk;
    int32_t before = -1, during = -1, clients = -1;
    int32_t ret;

    CHECK("parent", hb_mem_module_open());
    memset(&pool, 0, sizeof pool);
    CHECK("parent", hb_mem_share_pool_create(NUM_BUFS, BUF_SIZE, flags, &pool));
    printf("parent: hb_mem_share_pool_create: fd=%d size=%u total=%d avail=%d\n", (int)pool.fd, (unsigned)pool.size,
           (int)pool.total_buf_cnt, (int)pool.avail_buf_cnt);
    EXPECT("parent", pool.size == BUF_SIZE && pool.total_buf_cnt == NUM_BUFS && pool.avail_buf_cnt == NUM_BUFS);

    CHECK("parent", hb_mem_share_pool_alloc_buf(pool.fd, &blk));
    CHECK("parent", hb_mem_share_pool_get_info(pool.fd, &info));
    printf("parent: hb_mem_share_pool_alloc_buf: fd=%d share_id=%d size=%" PRIu64 ", %d of %d available\n",
           (int)blk.fd, (int)blk.share_id, blk.size, (int)info.avail_buf_cnt, (int)info.total_buf_cnt);
    EXPECT("parent", blk.size == BUF_SIZE && info.avail_buf_cnt == NUM_BUFS - 1);

    memset(blk.virt_addr, 0, blk.size);
    memcpy(blk.virt_addr, request, sizeof request);
    CHECK("parent", hb_mem_flush_buf(blk.fd, 0, blk.size));
    /* Share clients before sharing: the count to wait for afterwards. */
    CHECK("parent", hb_mem_get_share_info(blk.fd, &before));
    printf("parent: share clients before sharing: %d\n", (int)before);
    fflush(stdout);

    /* The struct goes by value; the child imports it by its share id. */
    if (send(sock, &blk, sizeof blk, 0) != (ssize_t)sizeof blk || recv_all(sock, &during, sizeof during) != 0) {
        fprintf(stderr, "FAILED: parent: lost the child\n");
        return 1;
    }
    CHECK("parent", hb_mem_invalidate_buf(blk.fd, 0, blk.size));
    printf("parent: reads the child's reply \"%s\"\n", (const char *)blk.virt_addr + REPLY_AT);
    EXPECT("parent", strcmp((const char *)blk.virt_addr + REPLY_AT, reply) == 0);
    /* The child's import was one more client; its free gave it back. */
    CHECK("parent", hb_mem_wait_share_status(blk.fd, before, WAIT_MS));
    CHECK("parent", hb_mem_get_share_info(blk.fd, &clients));
    printf("parent: share clients: %d before, %d during the child's import, %d after its free\n", (int)before,
           (int)during, (int)clients);
    EXPECT("parent", during == before + 1 && clients == before);

    ret = hb_mem_share_pool_destroy(pool.fd);
    printf("parent: hb_mem_share_pool_destroy with a block out: %d (%s)\n", (int)ret,
           ret == HB_MEM_ERR_POOL_BUSY ? "HB_MEM_ERR_POOL_BUSY, as expected" : "unexpected");
    EXPECT("parent", ret == HB_MEM_ERR_POOL_BUSY);

    CHECK("parent", hb_mem_share_pool_free_buf((uint64_t)(uintptr_t)blk.virt_addr));
    CHECK("parent", hb_mem_share_pool_get_info(pool.fd, &info));
    printf("parent: hb_mem_share_pool_free_buf: %d of %d available\n", (int)info.avail_buf_cnt,
           (int)info.total_buf_cnt);
    EXPECT("parent", info.avail_buf_cnt == NUM_BUFS);

    CHECK("parent", hb_mem_share_pool_destroy(pool.fd));
    printf("parent: hb_mem_share_pool_destroy: ok\n");
    CHECK("parent", hb_mem_module_close());
    return 0;
}

int main(void)
{
    int sv[2];
    int status = 0;
    int failed;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(sv[0]);
        failed = child(sv[1]);
        fflush(stdout);
        fflush(stderr);
        /* _exit: the child shares the parent's atexit handlers and stdio. */
        _exit(failed);
    }
    close(sv[1]);
    failed = parent(sv[0]);
    close(sv[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAILED: the child exited with status 0x%x\n", (unsigned)status);
        failed = 1;
    }
    if (failed) {
        return 1;
    }
    printf("hbmem_share_pool: all steps passed\n");
    return 0;
}
