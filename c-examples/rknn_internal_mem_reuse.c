/*
 * rknn_internal_mem_reuse.c: two RKNPU2 contexts share one internal-memory
 * buffer (rknn_api.h, SDK 2.3.x), after the SDK's
 * rknn_internal_mem_reuse_demo.
 *
 * Internal memory is a model's scratch space while it runs. Two models that
 * run one after the other need not each own theirs: the program allocates
 * one buffer and hands each context a view of it made with
 * rknn_create_mem_from_fd. The vendor demo puts both views at offset 0;
 * here the second starts one page in, to show that the offset is honoured
 * while the views still share all the other bytes.
 *
 * Steps:
 *   1. rknn_init twice with RKNN_FLAG_MEM_ALLOC_OUTSIDE: the program, not
 *      the runtime, provides weight and internal memory. (accelmem parses
 *      no model: it keeps each blob as the model's weights, so any bytes
 *      will do, and reports ACCELMEM_RKNN_INTERNAL_SIZE as internal size.)
 *   2. rknn_query(RKNN_QUERY_MEM_SIZE) on both: weight and internal sizes;
 *      nothing is allocated yet
 *   3. one buffer with rknn_create_mem, big enough for either context
 *   4. rknn_create_mem_from_fd twice on the buffer's fd: context 0 at
 *      offset 0 (the buffer's mapping passed in), context 1 at offset
 *      VIEW1_OFFSET (mapped by the runtime), each with its own size;
 *      rknn_set_internal_mem on each
 *   5. the views alias the same bytes: what one writes, the other reads at
 *      the matching offset
 *   6. rknn_create_mem + rknn_set_weight_mem per context: the runtime copies
 *      the model's weights into the memory
 *   7. destroy the views (only unwrapped: the buffer keeps its bytes), then
 *      the buffer and the weight memories, then the contexts
 *
 * Build: cc -Wall -Wextra -Werror -I include rknn_internal_mem_reuse.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rknn_api.h"

#define N_CTX 2
#define VIEW1_OFFSET 4096 /* where context 1's view starts in the buffer */

static uint8_t model0[3000];
static uint8_t model1[5000];

static int failed(const char *call, int ret)
{
    fprintf(stderr, "FAILED: %s returned %d\n", call, ret);
    return 1;
}

/* The first byte a view's owner addresses: virt_addr is the fd's start. */
static uint8_t *view_base(const rknn_tensor_mem *m)
{
    return (uint8_t *)m->virt_addr + m->offset;
}

int main(void)
{
    uint8_t *models[N_CTX] = { model0, model1 };
    uint32_t model_len[N_CTX] = { sizeof(model0), sizeof(model1) };
    int32_t view_offset[N_CTX] = { 0, VIEW1_OFFSET };
    rknn_context ctx[N_CTX] = { 0, 0 };
    rknn_mem_size mem_size[N_CTX];
    rknn_tensor_mem *internal_max = NULL;
    rknn_tensor_mem *internal_view[N_CTX] = { NULL, NULL };
    rknn_tensor_mem *weight[N_CTX] = { NULL, NULL };
    uint32_t buf_size = 0;
    int n, ret, status = 1;

    /* Recognisable "weights" for each model. */
    for (uint32_t i = 0; i < sizeof(model0); i++)
        model0[i] = (uint8_t)(i * 7 + 1);
    for (uint32_t i = 0; i < sizeof(model1); i++)
        model1[i] = (uint8_t)(i * 13 + 5);

    /* 1 and 2. */
    for (n = 0; n < N_CTX; n++) {
        ret = rknn_init(&ctx[n], models[n], model_len[n], RKNN_FLAG_MEM_ALLOC_OUTSIDE, NULL);
        if (ret != RKNN_SUCC) {
            failed("rknn_init(RKNN_FLAG_MEM_ALLOC_OUTSIDE)", ret);
            goto out;
        }
        ret = rknn_query(ctx[n], RKNN_QUERY_MEM_SIZE, &mem_size[n], sizeof(mem_size[n]));
        if (ret != RKNN_SUCC) {
            failed("rknn_query(RKNN_QUERY_MEM_SIZE)", ret);
            goto out;
        }
        printf("context %d: total_weight_size=%u total_internal_size=%u total_dma_allocated_size=%llu\n", n,
               mem_size[n].total_weight_size, mem_size[n].total_internal_size,
               (unsigned long long)mem_size[n].total_dma_allocated_size);
        if (mem_size[n].total_weight_size != model_len[n] || mem_size[n].total_internal_size == 0 ||
            mem_size[n].total_dma_allocated_size != 0) {
            fprintf(stderr, "FAILED: expected weight=%u, internal > 0, nothing allocated yet\n", model_len[n]);
            goto out;
        }
        if (mem_size[n].total_internal_size + (uint32_t)view_offset[n] > buf_size)
            buf_size = mem_size[n].total_internal_size + (uint32_t)view_offset[n];
    }

    /* 3. One buffer for both contexts' internal memory. */
    internal_max = rknn_create_mem(ctx[0], buf_size);
    if (internal_max == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem(%u) returned NULL\n", buf_size);
        goto out;
    }
    printf("internal_mem_max: rknn_create_mem(%u) fd=%d\n", buf_size, internal_max->fd);

    /* 4. A view per context, of the size that context needs. */
    for (n = 0; n < N_CTX; n++) {
        /* Context 0 passes the buffer's mapping; for context 1 the runtime maps the fd. */
        void *virt = n == 0 ? internal_max->virt_addr : NULL;
        uint32_t size = mem_size[n].total_internal_size;
        internal_view[n] = rknn_create_mem_from_fd(ctx[n], internal_max->fd, virt, size, view_offset[n]);
        if (internal_view[n] == NULL) {
            fprintf(stderr, "FAILED: rknn_create_mem_from_fd(ctx %d, offset %d, size %u) returned NULL\n", n,
                    view_offset[n], size);
            goto out;
        }
        printf("context %d internal view: offset=%d size=%u flags=%u mapped %s\n", n, internal_view[n]->offset,
               internal_view[n]->size, internal_view[n]->flags,
               internal_view[n]->virt_addr == internal_max->virt_addr ? "at the buffer's address" : "elsewhere");
        if (internal_view[n]->offset != view_offset[n] || internal_view[n]->size != size ||
            internal_view[n]->flags != RKNN_TENSOR_MEMORY_FLAGS_FROM_FD || internal_view[n]->virt_addr == NULL) {
            fprintf(stderr, "FAILED: expected offset=%d size=%u flags=FROM_FD and a mapping\n", view_offset[n], size);
            goto out;
        }
        ret = rknn_set_internal_mem(ctx[n], internal_view[n]);
        if (ret != RKNN_SUCC) {
            failed("rknn_set_internal_mem", ret);
            goto out;
        }
    }
    printf("rknn_set_internal_mem: ok (both contexts)\n");

    /* 5. Context 1's byte k is context 0's byte VIEW1_OFFSET + k. */
    {
        uint8_t *v0 = view_base(internal_view[0]), *v1 = view_base(internal_view[1]);
        const uint32_t ks[] = { 0, 1, 4095, 65536, mem_size[1].total_internal_size - 1 };
        for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
            uint32_t k = ks[i];
            if (VIEW1_OFFSET + k >= mem_size[0].total_internal_size)
                continue; /* outside context 0's view */
            v1[k] = (uint8_t)(0xA0 + i);
            if (v0[VIEW1_OFFSET + k] != (uint8_t)(0xA0 + i)) {
                fprintf(stderr, "FAILED: context 1 wrote its byte %u, context 0's byte %u does not show it\n", k,
                        VIEW1_OFFSET + k);
                goto out;
            }
            v0[VIEW1_OFFSET + k] = (uint8_t)(0x50 + i);
            if (v1[k] != (uint8_t)(0x50 + i)) {
                fprintf(stderr, "FAILED: context 0 wrote its byte %u, context 1's byte %u does not show it\n",
                        VIEW1_OFFSET + k, k);
                goto out;
            }
        }
        memcpy(v1, "scratch of context 1", 21);
        if (memcmp((uint8_t *)internal_max->virt_addr + VIEW1_OFFSET, "scratch of context 1", 21) != 0) {
            fprintf(stderr, "FAILED: the buffer does not hold what context 1 wrote at offset %d\n", VIEW1_OFFSET);
            goto out;
        }
    }
    printf("views alias: context 1's byte k is context 0's byte %d + k (and the buffer's)\n", VIEW1_OFFSET);

    /* 6. Weight memory: the runtime loads the model's weights into it. */
    for (n = 0; n < N_CTX; n++) {
        weight[n] = rknn_create_mem(ctx[n], mem_size[n].total_weight_size);
        if (weight[n] == NULL) {
            fprintf(stderr, "FAILED: rknn_create_mem(%u) returned NULL\n", mem_size[n].total_weight_size);
            goto out;
        }
        memset(weight[n]->virt_addr, 0, weight[n]->size);
        ret = rknn_set_weight_mem(ctx[n], weight[n]);
        if (ret != RKNN_SUCC) {
            failed("rknn_set_weight_mem", ret);
            goto out;
        }
        if (memcmp(weight[n]->virt_addr, models[n], model_len[n]) != 0) {
            fprintf(stderr, "FAILED: context %d's weight memory does not hold its model's bytes\n", n);
            goto out;
        }
    }
    printf("rknn_set_weight_mem: each weight memory holds its model's %u and %u bytes\n", model_len[0], model_len[1]);
    status = 0;

out:
    /* 7. Views first: they only wrap the buffer, which keeps its bytes. */
    for (n = N_CTX - 1; n >= 0; n--) {
        if (internal_view[n] != NULL && (ret = rknn_destroy_mem(ctx[n], internal_view[n])) != RKNN_SUCC)
            status = failed("rknn_destroy_mem(internal view)", ret);
    }
    if (status == 0) {
        if (memcmp((uint8_t *)internal_max->virt_addr + VIEW1_OFFSET, "scratch of context 1", 21) != 0) {
            fprintf(stderr, "FAILED: destroying the views changed the buffer\n");
            status = 1;
        } else {
            printf("rknn_destroy_mem(views): ok, the buffer still holds its bytes\n");
        }
    }
    if (internal_max != NULL && (ret = rknn_destroy_mem(ctx[0], internal_max)) != RKNN_SUCC)
        status = failed("rknn_destroy_mem(internal_mem_max)", ret);
    for (n = 0; n < N_CTX; n++) {
        if (weight[n] != NULL && (ret = rknn_destroy_mem(ctx[n], weight[n])) != RKNN_SUCC)
            status = failed("rknn_destroy_mem(weight)", ret);
    }
    for (n = 0; n < N_CTX; n++) {
        if (ctx[n] != 0 && (ret = rknn_destroy(ctx[n])) != RKNN_SUCC)
            status = failed("rknn_destroy", ret);
    }
    if (status != 0)
        return 1;
    printf("rknn_destroy_mem (buffer, weights), rknn_destroy (both contexts): ok\n");
    printf("rknn_internal_mem_reuse: all steps passed\n");
    return 0;
}
