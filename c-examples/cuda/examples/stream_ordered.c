/*
 * stream_ordered.c: stream-ordered allocation (cudaMallocAsync/cudaFreeAsync)
 * from the device's default memory pool, watched through the pool's
 * attributes:
 *   - freed blocks are reused: over a loop of allocate/copy/free the pool's
 *     reserved memory stays flat instead of growing;
 *   - with a release threshold of 0, memory the pool holds beyond what is
 *     in use goes back to the device at the next synchronisation;
 *   - with a high threshold it stays reserved until cudaMemPoolTrimTo.
 * Copies go through cudaMemcpyAsync on a stream and are timed with events;
 * the data is checked.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I include stream_ordered.c -laccelmem
 *
 * Exits 1 on any failed call or wrong value.
 */
#include "../common/common.h"

#include <stdint.h>

#define BLOCK ((size_t)1 << 20)
#define LOOPS 64

static uint64_t pool_attr(cudaMemPool_t pool, enum cudaMemPoolAttr attr)
{
    uint64_t v = UINT64_MAX;
    CHECK(cudaMemPoolGetAttribute(pool, attr, &v));
    return v;
}

static void set_threshold(cudaMemPool_t pool, uint64_t bytes)
{
    CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &bytes));
    EXPECT(pool_attr(pool, cudaMemPoolAttrReleaseThreshold) == bytes, "release threshold did not read back");
}

#define RESERVED(pool) pool_attr(pool, cudaMemPoolAttrReservedMemCurrent)
#define USED(pool) pool_attr(pool, cudaMemPoolAttrUsedMemCurrent)
#define MIB(v) ((double)(v) / 1048576.0)

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(i * 13u + seed * 101u + (i >> 10));
    }
}

int main(void)
{
    cudaMemPool_t pool = NULL, current = NULL;
    cudaStream_t s;
    cudaEvent_t start, stop;
    unsigned char *h_in = NULL, *h_out = NULL;
    float ms = -1.0f;

    CHECK(cudaSetDevice(0));
    CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
    CHECK(cudaDeviceGetMemPool(&current, 0));
    EXPECT(pool != NULL && pool == current, "default pool %p, current pool %p", (void *)pool, (void *)current);
    CHECK(cudaStreamCreate(&s));
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaMallocHost((void **)&h_in, BLOCK));
    CHECK(cudaMallocHost((void **)&h_out, BLOCK));
    EXPECT(pool_attr(pool, cudaMemPoolAttrReleaseThreshold) == 0, "the default release threshold is not 0");
    printf("stream_ordered: default pool %p, release threshold 0, reserved %.1f MiB, used %.1f MiB\n",
           (void *)pool, MIB(RESERVED(pool)), MIB(USED(pool)));

    /* 1. Keep memory across synchronisation; reuse it in a loop. */
    set_threshold(pool, UINT64_MAX);
    uint64_t first_reserved = 0;
    void *first_ptr = NULL;
    int same_ptr = 0;
    CHECK(cudaEventRecord(start, s));
    for (unsigned i = 0; i < LOOPS; i++) {
        void *d = NULL;
        CHECK(cudaMallocAsync(&d, BLOCK, s));
        EXPECT(d != NULL && (uintptr_t)d % 256 == 0, "cudaMallocAsync gave %p", d);
        EXPECT(USED(pool) >= BLOCK, "used %llu with a 1 MiB block allocated", (unsigned long long)USED(pool));
        fill(h_in, BLOCK, i);
        memset(h_out, 0, BLOCK);
        CHECK(cudaMemcpyAsync(d, h_in, BLOCK, cudaMemcpyHostToDevice, s));
        CHECK(cudaMemcpyAsync(h_out, d, BLOCK, cudaMemcpyDeviceToHost, s));
        CHECK(cudaFreeAsync(d, s));
        CHECK(cudaStreamSynchronize(s));
        EXPECT(memcmp(h_in, h_out, BLOCK) == 0, "iteration %u: the data did not round-trip", i);
        EXPECT(USED(pool) == 0, "iteration %u: used %llu after cudaFreeAsync", i, (unsigned long long)USED(pool));
        const uint64_t r = RESERVED(pool);
        if (i == 0) {
            first_reserved = r;
            first_ptr = d;
            EXPECT(r >= BLOCK, "reserved %llu after a 1 MiB allocation", (unsigned long long)r);
        }
        EXPECT(r == first_reserved, "iteration %u: reserved %llu, %llu after the first", i, (unsigned long long)r,
               (unsigned long long)first_reserved);
        same_ptr += d == first_ptr;
    }
    CHECK(cudaEventRecord(stop, s));
    CHECK(cudaEventSynchronize(stop));
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    EXPECT(ms >= 0.0f, "elapsed %f ms", (double)ms);
    printf("threshold max: %d x (cudaMallocAsync 1 MiB, H2D, D2H, cudaFreeAsync, sync) in %.3f ms, data verified;\n"
           "  reserved stayed %.1f MiB (memory reused; %d of %d got the first address), used 0 after each free\n",
           LOOPS, (double)ms, MIB(first_reserved), same_ptr, LOOPS);

    /* 2. Still reserved after a device-wide synchronisation; then trimmed. */
    CHECK(cudaDeviceSynchronize());
    EXPECT(RESERVED(pool) == first_reserved, "cudaDeviceSynchronize released memory above the threshold");
    CHECK(cudaMemPoolTrimTo(pool, 0));
    EXPECT(RESERVED(pool) == 0, "reserved %llu after cudaMemPoolTrimTo(0) with nothing in use",
           (unsigned long long)RESERVED(pool));
    printf("cudaMemPoolTrimTo(0): reserved %.1f MiB -> 0\n", MIB(first_reserved));

    /* 3. Threshold 0 (the default): a loop that never synchronises still
     * reuses what it frees; the next synchronisation releases it all. */
    set_threshold(pool, 0);
    uint64_t loop_reserved = 0;
    for (unsigned i = 0; i < LOOPS; i++) {
        void *d = NULL;
        CHECK(cudaMallocAsync(&d, BLOCK + i * 4096, s));
        CHECK(cudaMemsetAsync(d, (int)i, BLOCK + i * 4096, s));
        CHECK(cudaFreeAsync(d, s));
        if (i == 0) {
            loop_reserved = RESERVED(pool);
            EXPECT(loop_reserved >= BLOCK, "reserved %llu after a 1 MiB allocation",
                   (unsigned long long)loop_reserved);
        }
        EXPECT(RESERVED(pool) == loop_reserved, "iteration %u: reserved %llu, %llu after the first", i,
               (unsigned long long)RESERVED(pool), (unsigned long long)loop_reserved);
    }
    CHECK(cudaStreamSynchronize(s));
    EXPECT(RESERVED(pool) == 0, "reserved %llu after cudaStreamSynchronize with threshold 0",
           (unsigned long long)RESERVED(pool));
    printf("threshold 0: %d x (cudaMallocAsync, cudaMemsetAsync, cudaFreeAsync) without sync: reserved stayed "
           "%.1f MiB; after cudaStreamSynchronize: 0\n",
           LOOPS, MIB(loop_reserved));

    /* 4. Threshold 0: allocations in flight make the pool grow; at the
     * next synchronisation everything not in use is released. */
    void *blocks[4];
    for (int i = 0; i < 4; i++) {
        CHECK(cudaMallocAsync(&blocks[i], 3 * BLOCK, s));
        CHECK(cudaMemsetAsync(blocks[i], i + 1, 3 * BLOCK, s));
    }
    const uint64_t grown = RESERVED(pool);
    EXPECT(USED(pool) >= 12 * BLOCK && grown >= USED(pool), "reserved %llu, used %llu with 12 MiB allocated",
           (unsigned long long)grown, (unsigned long long)USED(pool));
    for (int i = 0; i < 4; i++) {
        CHECK(cudaMemcpyAsync(h_out, (unsigned char *)blocks[i] + 2 * BLOCK, BLOCK, cudaMemcpyDeviceToHost, s));
        CHECK(cudaStreamSynchronize(s));
        for (size_t k = 0; k < BLOCK; k++) {
            EXPECT(h_out[k] == i + 1, "block %d byte %zu is %d after cudaMemsetAsync(%d)", i, k, h_out[k], i + 1);
        }
    }
    const uint64_t in_use = USED(pool);
    for (int i = 0; i < 4; i++) {
        CHECK(cudaFreeAsync(blocks[i], s));
    }
    EXPECT(USED(pool) == 0, "used %llu after freeing everything", (unsigned long long)USED(pool));
    CHECK(cudaStreamSynchronize(s));
    EXPECT(RESERVED(pool) == 0, "reserved %llu after cudaStreamSynchronize with threshold 0",
           (unsigned long long)RESERVED(pool));
    printf("threshold 0: 4 x 3 MiB in use -> reserved %.1f MiB, used %.1f MiB; after cudaFreeAsync and "
           "cudaStreamSynchronize: reserved 0\n",
           MIB(grown), MIB(in_use));

    /* 5. cudaMemPoolTrimTo never releases memory in use. */
    set_threshold(pool, UINT64_MAX);
    void *keep = NULL, *drop = NULL;
    CHECK(cudaMallocAsync(&keep, 2 * BLOCK, s));
    CHECK(cudaMallocAsync(&drop, 8 * BLOCK, s));
    CHECK(cudaFreeAsync(drop, s));
    CHECK(cudaStreamSynchronize(s));
    const uint64_t before_trim = RESERVED(pool);
    EXPECT(before_trim >= 10 * BLOCK, "reserved %llu with a high threshold", (unsigned long long)before_trim);
    CHECK(cudaMemPoolTrimTo(pool, 0));
    const uint64_t after_trim = RESERVED(pool);
    EXPECT(after_trim >= 2 * BLOCK && after_trim < before_trim, "reserved %llu -> %llu with 2 MiB still in use",
           (unsigned long long)before_trim, (unsigned long long)after_trim);
    EXPECT(USED(pool) >= 2 * BLOCK, "used %llu with 2 MiB still in use", (unsigned long long)USED(pool));
    fill(h_in, BLOCK, 99);
    CHECK(cudaMemcpyAsync((unsigned char *)keep + BLOCK, h_in, BLOCK, cudaMemcpyHostToDevice, s));
    memset(h_out, 0, BLOCK);
    CHECK(cudaMemcpyAsync(h_out, (unsigned char *)keep + BLOCK, BLOCK, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    EXPECT(memcmp(h_in, h_out, BLOCK) == 0, "the block kept across cudaMemPoolTrimTo lost its data");
    CHECK(cudaFreeAsync(keep, s));
    printf("cudaMemPoolTrimTo(0) with 2 MiB in use: reserved %.1f MiB -> %.1f MiB, the live block still works\n",
           MIB(before_trim), MIB(after_trim));

    /* 6. High-water marks, and resetting them. */
    const uint64_t high = pool_attr(pool, cudaMemPoolAttrReservedMemHigh);
    const uint64_t used_high = pool_attr(pool, cudaMemPoolAttrUsedMemHigh);
    EXPECT(high >= grown && used_high >= 12 * BLOCK, "high-water marks %llu / %llu", (unsigned long long)high,
           (unsigned long long)used_high);
    uint64_t zero = 0;
    CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero));
    CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
    EXPECT(pool_attr(pool, cudaMemPoolAttrReservedMemHigh) == RESERVED(pool), "reserved high after reset");
    EXPECT(pool_attr(pool, cudaMemPoolAttrUsedMemHigh) == USED(pool), "used high after reset");
    printf("high-water marks: reserved %.1f MiB, used %.1f MiB; reset to the current values\n", MIB(high),
           MIB(used_high));

    /* Back to the default, which releases everything at the next sync. */
    set_threshold(pool, 0);
    CHECK(cudaStreamSynchronize(s));
    EXPECT(RESERVED(pool) == 0 && USED(pool) == 0, "pool not empty at the end");
    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    CHECK(cudaStreamDestroy(s));
    CHECK(cudaFreeHost(h_in));
    CHECK(cudaFreeHost(h_out));
    printf("stream_ordered: all steps passed\n");
    return 0;
}
