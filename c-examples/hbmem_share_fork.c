/*
 * hbmem_share_fork.c: share a common buffer between two processes with the
 * Horizon hbmem API, as the X5 sample_share fork scenario does.
 *
 * The producer passes the whole hb_mem_common_buf_t by value over a
 * socketpair (plain send/recv, no fd passing); the consumer imports it by
 * its share id and gets its own fd and virtual address on the same memory.
 * Consume counts tell the producer when the consumer is done with a frame.
 *
 * Steps:
 *   producer (parent)                     consumer (child)
 *   hb_mem_module_open                    hb_mem_module_open
 *   hb_mem_alloc_com_buf, write, flush
 *   send the struct                  -->  receive it, hb_mem_import_com_buf,
 *                                         invalidate, read,
 *                                         hb_mem_inc_com_buf_consume_cnt
 *   hb_mem_get_consume_info = 1      <--  "consuming"
 *   hb_mem_wait_consume_status(0, 10 ms) times out
 *   "done?"                          -->  hb_mem_dec_consume_cnt,
 *                                         hb_mem_free_buf(imported fd),
 *                                         hb_mem_module_close, exit
 *   hb_mem_wait_consume_status(0) and hb_mem_wait_share_status(0) return
 *   hb_mem_free_buf, hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_share_fork.c -L <dir> -laccelmem
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

#define BUF_SIZE (256u * 1024)
#define WAIT_MS 5000

static const char frame[] = "frame 42 from the producer";

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

static int consumer(int sock)
{
    hb_mem_common_buf_t in_buf, buf;
    char cmd = 0;

    CHECK("consumer", hb_mem_module_open());
    if (recv_all(sock, &in_buf, sizeof in_buf) != 0) {
        fprintf(stderr, "FAILED: consumer: no buffer received\n");
        return 1;
    }
    CHECK("consumer", hb_mem_import_com_buf(&in_buf, &buf));
    CHECK("consumer", hb_mem_invalidate_buf(buf.fd, 0, buf.size));
    printf("consumer: imported share_id=%d: same phys: %s, reads \"%s\"\n", (int)buf.share_id,
           buf.phys_addr == in_buf.phys_addr ? "yes" : "no", (const char *)buf.virt_addr);
    if (buf.phys_addr != in_buf.phys_addr || strcmp((const char *)buf.virt_addr, frame) != 0) {
        return 1;
    }
    CHECK("consumer", hb_mem_inc_com_buf_consume_cnt(&buf));
    fflush(stdout);
    if (send(sock, "c", 1, 0) != 1 || recv_all(sock, &cmd, 1) != 0) {
        fprintf(stderr, "FAILED: consumer: lost the producer\n");
        return 1;
    }
    CHECK("consumer", hb_mem_dec_consume_cnt(buf.fd));
    CHECK("consumer", hb_mem_free_buf(buf.fd));
    CHECK("consumer", hb_mem_module_close());
    printf("consumer: done with the frame, import freed\n");
    return 0;
}

static int producer(int sock)
{
    hb_mem_common_buf_t buf;
    int64_t flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;
    int32_t count = -1;
    int32_t ret;
    char ack = 0;

    CHECK("producer", hb_mem_module_open());
    CHECK("producer", hb_mem_alloc_com_buf(BUF_SIZE, flags, &buf));
    memcpy(buf.virt_addr, frame, sizeof frame);
    CHECK("producer", hb_mem_flush_buf(buf.fd, 0, buf.size));
    printf("producer: hb_mem_alloc_com_buf: share_id=%d phys=0x%" PRIx64 ", frame written\n", (int)buf.share_id,
           buf.phys_addr);
    fflush(stdout);

    /* The struct goes by value; the consumer imports it by its share id. */
    if (send(sock, &buf, sizeof buf, 0) != (ssize_t)sizeof buf || recv_all(sock, &ack, 1) != 0) {
        fprintf(stderr, "FAILED: producer: lost the consumer\n");
        return 1;
    }
    CHECK("producer", hb_mem_get_consume_info(buf.fd, &count));
    printf("producer: consume count %d\n", (int)count);
    if (count != 1) {
        return 1;
    }
    CHECK("producer", hb_mem_get_share_info(buf.fd, &count));
    printf("producer: share clients %d\n", (int)count);
    if (count != 1) {
        return 1;
    }
    ret = hb_mem_wait_consume_status(buf.fd, 0, 10);
    printf("producer: hb_mem_wait_consume_status(0, 10 ms) while consumed: %s\n",
           ret == HB_MEM_ERR_TIMEOUT ? "HB_MEM_ERR_TIMEOUT, as expected" : "unexpected");
    if (ret != HB_MEM_ERR_TIMEOUT) {
        return 1;
    }
    if (send(sock, "d", 1, 0) != 1) {
        return 1;
    }
    CHECK("producer", hb_mem_wait_consume_status(buf.fd, 0, WAIT_MS));
    CHECK("producer", hb_mem_wait_share_status(buf.fd, 0, WAIT_MS));
    printf("producer: the consumer released the frame\n");
    CHECK("producer", hb_mem_free_buf(buf.fd));
    CHECK("producer", hb_mem_module_close());
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
        failed = consumer(sv[1]);
        fflush(stdout);
        fflush(stderr);
        /* _exit: the child shares the parent's atexit handlers and stdio. */
        _exit(failed);
    }
    close(sv[1]);
    failed = producer(sv[0]);
    close(sv[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAILED: the consumer exited with status 0x%x\n", (unsigned)status);
        failed = 1;
    }
    if (failed) {
        return 1;
    }
    printf("hbmem_share_fork: all steps passed\n");
    return 0;
}
