/*
 * rknn_zero_copy.c: the zero-copy memory flow of the Rockchip RKNPU2 API
 * (rknn_api.h, SDK 2.3.x).
 *
 * With zero copy the program writes its input straight into a DMA buffer
 * that the NPU reads, and reads its output from a DMA buffer the NPU wrote,
 * instead of handing plain buffers to rknn_inputs_set/rknn_outputs_get
 * (which copy). The CPU caches must be synced around the NPU's accesses.
 *
 * Steps:
 *   1. rknn_init with a model blob. accelmem parses no model: it keeps the
 *      bytes as the context's weight memory, so any bytes will do here.
 *   2. rknn_query(RKNN_QUERY_SDK_VERSION) and (RKNN_QUERY_MEM_SIZE)
 *   3. input:  rknn_create_mem (size_with_stride bytes), write rows with the
 *              CPU, rknn_mem_sync(TO_DEVICE), rknn_set_io_mem; the buffer's
 *              dma-buf fd (what the NPU reads) holds the rows
 *   4. output: rknn_create_mem, rknn_set_io_mem
 *   5. rknn_run: RKNN_ERR_MODEL_INVALID, as accelmem runs no models (see the
 *      README); the program writes the output through the dma-buf fd in the
 *      NPU's place
 *   6. rknn_mem_sync(FROM_DEVICE), then read the output with the CPU
 *   7. rknn_destroy_mem (both), rknn_destroy
 *
 * Build: cc -Wall -Wextra -Werror -I include rknn_zero_copy.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "rknn_api.h"

/* An NHWC uint8 image of H x W x C, rows padded to W_STRIDE pixels, as the
 * NPU's native input layout pads them. */
#define H 8
#define W 6
#define C 3
#define W_STRIDE 16
#define N_OUT 10 /* float32 output elements */

static char model[] = "not a real .rknn model: accelmem keeps these bytes as the context's weight memory";

static int failed(const char *call, int ret)
{
    fprintf(stderr, "FAILED: %s returned %d\n", call, ret);
    return 1;
}

/* The pixel value the program writes at (y, x, c). */
static uint8_t pixel(int y, int x, int c)
{
    return (uint8_t)(y * 31 + x * 7 + c + 1);
}

/* Check every pixel of a strided image at `base`; padding is not compared. */
static int image_ok(const uint8_t *base)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++)
                if (base[(y * W_STRIDE + x) * C + c] != pixel(y, x, c))
                    return 0;
    return 1;
}

/* Map a tensor memory's dma-buf fd: a second view, as a device sees the memory. */
static void *map_fd(const rknn_tensor_mem *mem)
{
    void *p = mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_SHARED, mem->fd, 0);
    if (p == MAP_FAILED) {
        perror("FAILED: mmap of the tensor memory's fd");
        return NULL;
    }
    return p;
}

static int run(rknn_context ctx)
{
    rknn_sdk_version ver;
    rknn_mem_size mem_size;
    rknn_tensor_attr in_attr, out_attr;
    rknn_tensor_mem *in_mem = NULL, *out_mem = NULL;
    void *dev_view = NULL;
    int ok, ret, status = 1;

    /* 2. What the runtime is, and how much memory the context uses. */
    ret = rknn_query(ctx, RKNN_QUERY_SDK_VERSION, &ver, sizeof(ver));
    if (ret != RKNN_SUCC)
        return failed("rknn_query(RKNN_QUERY_SDK_VERSION)", ret);
    printf("rknn_query(SDK_VERSION): api=\"%s\" drv=\"%s\"\n", ver.api_version, ver.drv_version);
    if (ver.api_version[0] == '\0' || ver.drv_version[0] == '\0') {
        fprintf(stderr, "FAILED: empty version strings\n");
        return 1;
    }
    ret = rknn_query(ctx, RKNN_QUERY_MEM_SIZE, &mem_size, sizeof(mem_size));
    if (ret != RKNN_SUCC)
        return failed("rknn_query(RKNN_QUERY_MEM_SIZE)", ret);
    printf("rknn_query(MEM_SIZE): weight=%u internal=%u dma_allocated=%llu sram total=%u free=%u\n",
           mem_size.total_weight_size, mem_size.total_internal_size,
           (unsigned long long)mem_size.total_dma_allocated_size, mem_size.total_sram_size,
           mem_size.free_sram_size);
    /* The weights are the model blob; the runtime allocated them and the
     * internal memory (no RKNN_FLAG_MEM_ALLOC_OUTSIDE). */
    if (mem_size.total_weight_size != sizeof(model) ||
        mem_size.total_dma_allocated_size < (uint64_t)mem_size.total_weight_size + mem_size.total_internal_size ||
        mem_size.free_sram_size > mem_size.total_sram_size) {
        fprintf(stderr, "FAILED: expected weight=%zu, dma_allocated >= weight + internal, free sram <= total\n",
                sizeof(model));
        return 1;
    }

    /* 3. The input tensor, as RKNN_QUERY_NATIVE_INPUT_ATTR would describe it
     * (a model would say; accelmem has none, so the program says). */
    memset(&in_attr, 0, sizeof(in_attr));
    in_attr.index = 0;
    in_attr.n_dims = 4;
    in_attr.dims[0] = 1;
    in_attr.dims[1] = H;
    in_attr.dims[2] = W;
    in_attr.dims[3] = C;
    strcpy(in_attr.name, "image");
    in_attr.n_elems = H * W * C;
    in_attr.size = H * W * C;
    in_attr.fmt = RKNN_TENSOR_NHWC;
    in_attr.type = RKNN_TENSOR_UINT8;
    in_attr.w_stride = W_STRIDE;
    in_attr.size_with_stride = H * W_STRIDE * C;

    in_mem = rknn_create_mem(ctx, in_attr.size_with_stride);
    if (in_mem == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem(%u) returned NULL\n", in_attr.size_with_stride);
        return 1;
    }
    printf("rknn_create_mem(input, %u): fd=%d size=%u flags=%u\n", in_attr.size_with_stride, in_mem->fd,
           in_mem->size, in_mem->flags);
    if (in_mem->virt_addr == NULL || in_mem->fd < 0 || in_mem->size < in_attr.size_with_stride ||
        in_mem->flags != RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE) {
        fprintf(stderr, "FAILED: expected a mapped memory with an fd, >= %u bytes, ALLOC_INSIDE\n",
                in_attr.size_with_stride);
        goto out;
    }
    /* Row by row: each row starts W_STRIDE pixels after the previous one. */
    memset(in_mem->virt_addr, 0, in_mem->size);
    for (int y = 0; y < H; y++) {
        uint8_t *row = (uint8_t *)in_mem->virt_addr + y * W_STRIDE * C;
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++)
                row[x * C + c] = pixel(y, x, c);
    }
    /* Flush the CPU cache: the NPU reads memory, not the cache. */
    ret = rknn_mem_sync(ctx, in_mem, RKNN_MEMORY_SYNC_TO_DEVICE);
    if (ret != RKNN_SUCC) {
        failed("rknn_mem_sync(input, TO_DEVICE)", ret);
        goto out;
    }
    ret = rknn_set_io_mem(ctx, in_mem, &in_attr);
    if (ret != RKNN_SUCC) {
        failed("rknn_set_io_mem(input)", ret);
        goto out;
    }
    dev_view = map_fd(in_mem);
    if (dev_view == NULL)
        goto out;
    ok = image_ok(dev_view);
    munmap(dev_view, in_mem->size);
    if (!ok) {
        fprintf(stderr, "FAILED: the dma-buf does not hold the rows written with the CPU\n");
        goto out;
    }
    printf("input: wrote %d rows of %d pixels (stride %d), synced to the device, bound; the dma-buf holds them\n", H,
           W, W_STRIDE);

    /* 4. The output tensor: N_OUT floats. */
    memset(&out_attr, 0, sizeof(out_attr));
    out_attr.index = 0;
    out_attr.n_dims = 2;
    out_attr.dims[0] = 1;
    out_attr.dims[1] = N_OUT;
    strcpy(out_attr.name, "scores");
    out_attr.n_elems = N_OUT;
    out_attr.size = N_OUT * sizeof(float);
    out_attr.size_with_stride = out_attr.size;
    out_attr.fmt = RKNN_TENSOR_UNDEFINED;
    out_attr.type = RKNN_TENSOR_FLOAT32;

    out_mem = rknn_create_mem(ctx, out_attr.size);
    if (out_mem == NULL) {
        fprintf(stderr, "FAILED: rknn_create_mem(%u) returned NULL\n", out_attr.size);
        goto out;
    }
    /* A memory smaller than the tensor is refused. */
    out_attr.size_with_stride = out_mem->size + 1;
    ret = rknn_set_io_mem(ctx, out_mem, &out_attr);
    if (ret != RKNN_ERR_PARAM_INVALID) {
        fprintf(stderr, "FAILED: rknn_set_io_mem with a too-small memory returned %d, expected %d\n", ret,
                RKNN_ERR_PARAM_INVALID);
        goto out;
    }
    out_attr.size_with_stride = out_attr.size;
    ret = rknn_set_io_mem(ctx, out_mem, &out_attr);
    if (ret != RKNN_SUCC) {
        failed("rknn_set_io_mem(output)", ret);
        goto out;
    }
    printf("output: rknn_create_mem(%u), bound (a smaller memory: RKNN_ERR_PARAM_INVALID)\n", out_attr.size);

    /* 5. No model runs here: the SDK's error for an unusable model. */
    ret = rknn_run(ctx, NULL);
    if (ret != RKNN_ERR_MODEL_INVALID) {
        fprintf(stderr, "FAILED: rknn_run returned %d, expected RKNN_ERR_MODEL_INVALID (%d)\n", ret,
                RKNN_ERR_MODEL_INVALID);
        goto out;
    }
    printf("rknn_run: RKNN_ERR_MODEL_INVALID (%d), as expected: accelmem runs no models\n", ret);
    /* In the NPU's place: write the output through the dma-buf. */
    dev_view = map_fd(out_mem);
    if (dev_view == NULL)
        goto out;
    for (int i = 0; i < N_OUT; i++)
        ((float *)dev_view)[i] = 0.5f * (float)i;
    munmap(dev_view, out_mem->size);

    /* 6. Invalidate the CPU cache before reading what the device wrote. */
    ret = rknn_mem_sync(ctx, out_mem, RKNN_MEMORY_SYNC_FROM_DEVICE);
    if (ret != RKNN_SUCC) {
        failed("rknn_mem_sync(output, FROM_DEVICE)", ret);
        goto out;
    }
    for (int i = 0; i < N_OUT; i++) {
        if (((const float *)out_mem->virt_addr)[i] != 0.5f * (float)i) {
            fprintf(stderr, "FAILED: output[%d] = %g, expected %g\n", i, ((const float *)out_mem->virt_addr)[i],
                    0.5 * i);
            goto out;
        }
    }
    printf("output: synced from the device, read %d floats written through the dma-buf (output[9] = %g)\n", N_OUT,
           ((const float *)out_mem->virt_addr)[9]);
    status = 0;

out:
    /* 7. Free the memories the program made (the runtime frees its own
     * weight and internal memory in rknn_destroy). */
    if (out_mem != NULL && (ret = rknn_destroy_mem(ctx, out_mem)) != RKNN_SUCC)
        status = failed("rknn_destroy_mem(output)", ret);
    if (in_mem != NULL && (ret = rknn_destroy_mem(ctx, in_mem)) != RKNN_SUCC)
        status = failed("rknn_destroy_mem(input)", ret);
    if (status == 0)
        printf("rknn_destroy_mem: ok (input and output)\n");
    return status;
}

int main(void)
{
    rknn_context ctx = 0;
    int ret, status;

    /* 1. A memory-only context: the blob becomes its weight memory. */
    ret = rknn_init(&ctx, model, sizeof(model), 0, NULL);
    if (ret != RKNN_SUCC)
        return failed("rknn_init", ret);
    printf("rknn_init: ok (model blob of %zu bytes)\n", sizeof(model));

    status = run(ctx);

    ret = rknn_destroy(ctx);
    if (ret != RKNN_SUCC)
        return failed("rknn_destroy", ret);
    printf("rknn_destroy: ok\n");
    if (status != 0)
        return 1;
    printf("rknn_zero_copy: all steps passed\n");
    return 0;
}
