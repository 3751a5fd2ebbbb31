/*
 * hbmem_queue.c: a producer thread and a consumer thread passing common
 * buffers through an hbmem buffer queue, as the RDK sample_queue does.
 *
 * A queue holds `count` slots of `item_size` bytes; here each item is a
 * hb_mem_common_buf_t copied in and out by value. A slot goes
 * FREE -> (hb_mem_dequeue_buf) DEQUEUE -> (hb_mem_queue_buf) QUEUE
 * -> (hb_mem_request_buf) REQUEST -> (hb_mem_release_buf) FREE.
 * Dequeue hands the producer back the item the slot held last, so the
 * producer recycles the buffers the consumer released.
 *
 * Steps:
 *   1. hb_mem_module_open, 4 common buffers, a queue of 4 slots
 *   2. producer thread: 20 times dequeue a slot (a new buffer the first
 *      4 times, the recycled one after), fill it with frame i, flush, queue
 *      consumer thread (opens the module too): 20 times request, invalidate,
 *      check the bytes are frame i, release
 *   3. a full queue: 4 dequeues with timeout 0 succeed, the 5th returns
 *      HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT; nothing queued: request with
 *      timeout 0 returns the same, with 10 ms HB_MEM_ERR_TIMEOUT; cancel the 4
 *   4. destroy the queue, free the buffers, hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_queue.c -L <dir> -laccelmem -lpthread
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hb_mem_err.h>
#include <hb_mem_mgr.h>

#define SLOTS 4
#define ITEMS 20
#define BUF_SIZE (16u * 1024)
#define WAIT_MS 5000

static hb_mem_buf_queue_t queue;
static hb_mem_common_buf_t bufs[SLOTS];

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

/* Frame i: its number in the first 4 bytes, then the byte (i * 7 + 1). */
static void fill(uint8_t *p, uint64_t size, uint32_t i)
{
    memcpy(p, &i, sizeof i);
    memset(p + sizeof i, (int)((i * 7 + 1) & 0xff), size - sizeof i);
}

static int is_frame(const uint8_t *p, uint64_t size, uint32_t i)
{
    uint32_t n;
    uint64_t k;

    memcpy(&n, p, sizeof n);
    if (n != i) {
        return 0;
    }
    for (k = sizeof n; k < size; k++) {
        if (p[k] != (uint8_t)((i * 7 + 1) & 0xff)) {
            return 0;
        }
    }
    return 1;
}

static int ours(const hb_mem_common_buf_t *b)
{
    int k;

    for (k = 0; k < SLOTS; k++) {
        if (b->fd == bufs[k].fd && b->virt_addr == bufs[k].virt_addr) {
            return 1;
        }
    }
    return 0;
}

static int produce(void)
{
    hb_mem_common_buf_t item;
    int32_t slot = -1;
    uint32_t i;
    int fresh = 0, recycled = 0;

    for (i = 0; i < ITEMS; i++) {
        memset(&item, 0, sizeof item);
        CHECK("producer", hb_mem_dequeue_buf(&queue, &slot, &item, WAIT_MS));
        if (item.size == 0) {
            /* A slot never queued comes back zeroed: hand out a new buffer. */
            if (fresh == SLOTS) {
                fprintf(stderr, "FAILED: producer: more than %d never-used slots\n", SLOTS);
                return 1;
            }
            item = bufs[fresh++];
        } else if (!ours(&item)) {
            fprintf(stderr, "FAILED: producer: slot %d gave back fd %d, not one of ours\n", (int)slot, (int)item.fd);
            return 1;
        } else {
            recycled++;
        }
        fill(item.virt_addr, item.size, i);
        CHECK("producer", hb_mem_flush_buf(item.fd, 0, item.size));
        CHECK("producer", hb_mem_queue_buf(&queue, slot, &item));
    }
    printf("producer: queued %d frames (%d new buffers, %d recycled)\n", ITEMS, fresh, recycled);
    if (fresh != SLOTS || recycled != ITEMS - SLOTS) {
        return 1;
    }
    return 0;
}

static int consume(void)
{
    hb_mem_common_buf_t item;
    int32_t slot = -1;
    uint32_t i;

    CHECK("consumer", hb_mem_module_open());
    for (i = 0; i < ITEMS; i++) {
        CHECK("consumer", hb_mem_request_buf(&queue, &slot, &item, WAIT_MS));
        CHECK("consumer", hb_mem_invalidate_buf(item.fd, 0, item.size));
        if (!ours(&item) || !is_frame(item.virt_addr, item.size, i)) {
            fprintf(stderr, "FAILED: consumer: slot %d does not hold frame %u\n", (int)slot, (unsigned)i);
            return 1;
        }
        CHECK("consumer", hb_mem_release_buf(&queue, slot));
    }
    CHECK("consumer", hb_mem_module_close());
    printf("consumer: received frames 0..%d in order, bytes checked\n", ITEMS - 1);
    return 0;
}

static void *producer_thread(void *arg)
{
    *(int *)arg = produce();
    return NULL;
}

static void *consumer_thread(void *arg)
{
    *(int *)arg = consume();
    return NULL;
}

static int full_queue(void)
{
    hb_mem_common_buf_t item;
    int32_t slots[SLOTS];
    int32_t slot = -1;
    int32_t ret;
    int k;

    for (k = 0; k < SLOTS; k++) {
        CHECK("main", hb_mem_dequeue_buf(&queue, &slots[k], &item, 0));
    }
    ret = hb_mem_dequeue_buf(&queue, &slot, &item, 0);
    printf("hb_mem_dequeue_buf with all %d slots taken, timeout 0: %d (%s)\n", SLOTS, (int)ret,
           ret == HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT ? "HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT, as expected" : "unexpected");
    if (ret != HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT) {
        return 1;
    }
    ret = hb_mem_request_buf(&queue, &slot, &item, 0);
    printf("hb_mem_request_buf with nothing queued, timeout 0: %d\n", (int)ret);
    if (ret != HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT) {
        return 1;
    }
    ret = hb_mem_request_buf(&queue, &slot, &item, 10);
    printf("hb_mem_request_buf with nothing queued, timeout 10 ms: %d (%s)\n", (int)ret,
           ret == HB_MEM_ERR_TIMEOUT ? "HB_MEM_ERR_TIMEOUT, as expected" : "unexpected");
    if (ret != HB_MEM_ERR_TIMEOUT) {
        return 1;
    }
    for (k = 0; k < SLOTS; k++) {
        CHECK("main", hb_mem_cancel_buf(&queue, slots[k]));
    }
    /* Cancelled slots are FREE again. */
    CHECK("main", hb_mem_dequeue_buf(&queue, &slot, &item, 0));
    CHECK("main", hb_mem_cancel_buf(&queue, slot));
    printf("hb_mem_cancel_buf on the %d dequeued slots: ok, a slot is free again\n", SLOTS);
    return 0;
}

int main(void)
{
    int64_t flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;
    pthread_t prod, cons;
    int prod_failed = 1, cons_failed = 1;
    int k;

    CHECK("main", hb_mem_module_open());
    for (k = 0; k < SLOTS; k++) {
        CHECK("main", hb_mem_alloc_com_buf(BUF_SIZE, flags, &bufs[k]));
    }
    printf("hb_mem_alloc_com_buf: %d buffers of %u bytes\n", SLOTS, BUF_SIZE);

    memset(&queue, 0, sizeof queue);
    queue.count = SLOTS;
    queue.item_size = sizeof(hb_mem_common_buf_t);
    CHECK("main", hb_mem_create_buf_queue(&queue));
    printf("hb_mem_create_buf_queue: unique_id=%" PRIu64 " count=%u item_size=%u\n", queue.unique_id,
           (unsigned)queue.count, (unsigned)queue.item_size);

    if (pthread_create(&cons, NULL, consumer_thread, &cons_failed) != 0) {
        fprintf(stderr, "FAILED: pthread_create(consumer)\n");
        return 1;
    }
    if (pthread_create(&prod, NULL, producer_thread, &prod_failed) != 0) {
        fprintf(stderr, "FAILED: pthread_create(producer)\n");
        return 1;
    }
    if (pthread_join(prod, NULL) != 0 || pthread_join(cons, NULL) != 0 || prod_failed || cons_failed) {
        fprintf(stderr, "FAILED: producer or consumer\n");
        return 1;
    }

    if (full_queue() != 0) {
        return 1;
    }

    CHECK("main", hb_mem_destroy_buf_queue(&queue));
    printf("hb_mem_destroy_buf_queue: ok\n");
    for (k = 0; k < SLOTS; k++) {
        CHECK("main", hb_mem_free_buf(bufs[k].fd));
    }
    CHECK("main", hb_mem_module_close());
    printf("hbmem_queue: all steps passed\n");
    return 0;
}
