/*
 * pitched_2d.c: a 2D image in pitched device memory (cudaMallocPitch),
 * moved with cudaMemcpy2D between host rows of one stride and device rows
 * of another, filled with cudaMemset2D, and checked byte by byte: a 2D copy
 * or fill of `width` bytes per row writes exactly those bytes and leaves
 * the rest of each row (the padding up to the pitch) as it was.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I include pitched_2d.c -laccelmem
 *
 * Exits 1 on any failed call or wrong byte.
 */
#include "../common/common.h"

#include <stdint.h>

#define WIDTH 1000 /* bytes per row */
#define HEIGHT 37
#define PAD 0x5a   /* cudaMemset2D over the whole allocation, padding included */
#define HOST_PAD 0xee

static unsigned char pattern(size_t row, size_t col)
{
    return (unsigned char)(row * 31u + col * 7u + (col >> 8) + 1u);
}

/* Step 5's rectangle: rows R0.., columns C0.. */
#define R0 5
#define ROWS 10
#define C0 100
#define COLS 300

/* The first buffer's bytes after steps 3 and 5 (for columns < pitch). */
static unsigned char before(size_t r, size_t c)
{
    if (r >= R0 && r < R0 + ROWS && c >= C0 && c < C0 + COLS) {
        return 0x33;
    }
    return c < WIDTH ? pattern(r, c) : PAD;
}

/* The whole pitched allocation (pitch * HEIGHT bytes, contiguous) as seen
 * by a 1D copy. */
static unsigned char *read_all(const void *d, size_t pitch)
{
    unsigned char *all = malloc(pitch * HEIGHT);
    EXPECT(all != NULL, "malloc");
    memset(all, 0, pitch * HEIGHT);
    CHECK(cudaMemcpy(all, d, pitch * HEIGHT, cudaMemcpyDeviceToHost));
    return all;
}

int main(void)
{
    unsigned char *d = NULL, *d2 = NULL;
    size_t pitch = 0, pitch2 = 0;
    int pitch_align = 0;

    CHECK(cudaSetDevice(0));
    CHECK(cudaDeviceGetAttribute(&pitch_align, cudaDevAttrTexturePitchAlignment, 0));

    /* 1. cudaMallocPitch: rows of at least WIDTH bytes, suitably aligned. */
    CHECK(cudaMallocPitch((void **)&d, &pitch, WIDTH, HEIGHT));
    printf("pitched_2d: cudaMallocPitch(%d x %d) -> pitch %zu\n", WIDTH, HEIGHT, pitch);
    EXPECT(pitch >= WIDTH, "pitch %zu < width %d", pitch, WIDTH);
    EXPECT(pitch_align > 0 && pitch % (size_t)pitch_align == 0, "pitch %zu not a multiple of %d", pitch,
           pitch_align);
    EXPECT((uintptr_t)d % 256 == 0, "base %p not 256-byte aligned", (void *)d);

    /* 2. cudaMemset2D over whole rows (width = pitch) sets padding too. */
    CHECK(cudaMemset2D(d, pitch, PAD, pitch, HEIGHT));
    unsigned char *all = read_all(d, pitch);
    for (size_t i = 0; i < pitch * HEIGHT; i++) {
        EXPECT(all[i] == PAD, "after cudaMemset2D(pitch wide): byte %zu is 0x%02x", i, all[i]);
    }
    free(all);
    printf("cudaMemset2D(0x%02x, %zu x %d): every byte of the allocation set\n", PAD, pitch, HEIGHT);

    /* 3. H2D from host rows with a stride that is neither WIDTH nor the pitch. */
    const size_t hpitch = pitch + 40;
    unsigned char *h = malloc(hpitch * HEIGHT);
    EXPECT(h != NULL, "malloc");
    memset(h, HOST_PAD, hpitch * HEIGHT);
    for (size_t r = 0; r < HEIGHT; r++) {
        for (size_t c = 0; c < WIDTH; c++) {
            h[r * hpitch + c] = pattern(r, c);
        }
    }
    CHECK(cudaMemcpy2D(d, pitch, h, hpitch, WIDTH, HEIGHT, cudaMemcpyHostToDevice));
    all = read_all(d, pitch);
    for (size_t r = 0; r < HEIGHT; r++) {
        for (size_t c = 0; c < pitch; c++) {
            const unsigned char want = c < WIDTH ? pattern(r, c) : PAD;
            EXPECT(all[r * pitch + c] == want, "after H2D 2D copy: row %zu col %zu is 0x%02x, expected 0x%02x", r,
                   c, all[r * pitch + c], want);
        }
    }
    free(all);
    printf("cudaMemcpy2D H2D (host pitch %zu -> device pitch %zu): rows in place, padding untouched\n", hpitch,
           pitch);

    /* 4. D2H into host rows of yet another stride; host padding untouched. */
    const size_t hpitch2 = WIDTH + 7;
    unsigned char *h2 = malloc(hpitch2 * HEIGHT);
    EXPECT(h2 != NULL, "malloc");
    memset(h2, HOST_PAD, hpitch2 * HEIGHT);
    CHECK(cudaMemcpy2D(h2, hpitch2, d, pitch, WIDTH, HEIGHT, cudaMemcpyDeviceToHost));
    for (size_t r = 0; r < HEIGHT; r++) {
        for (size_t c = 0; c < hpitch2; c++) {
            const unsigned char want = c < WIDTH ? pattern(r, c) : HOST_PAD;
            EXPECT(h2[r * hpitch2 + c] == want, "after D2H 2D copy: row %zu col %zu is 0x%02x, expected 0x%02x", r,
                   c, h2[r * hpitch2 + c], want);
        }
    }
    printf("cudaMemcpy2D D2H (device pitch %zu -> host pitch %zu): rows in place, host padding untouched\n",
           pitch, hpitch2);

    /* 5. cudaMemset2D of a sub-rectangle: rows 5..14, columns 100..399. */
    const size_t r0 = R0, rows = ROWS, c0 = C0, cols = COLS;
    CHECK(cudaMemset2D(d + r0 * pitch + c0, pitch, 0x33, cols, rows));
    all = read_all(d, pitch);
    for (size_t r = 0; r < HEIGHT; r++) {
        for (size_t c = 0; c < pitch; c++) {
            const unsigned char want = before(r, c);
            EXPECT(all[r * pitch + c] == want, "after cudaMemset2D of a rectangle: row %zu col %zu is 0x%02x, "
                   "expected 0x%02x", r, c, all[r * pitch + c], want);
        }
    }
    free(all);
    printf("cudaMemset2D(0x33) of %zu x %zu at (%zu, %zu): rectangle set, everything else untouched\n", cols, rows,
           c0, r0);

    /* 6. D2D of a sub-rectangle into a second pitched buffer. */
    CHECK(cudaMallocPitch((void **)&d2, &pitch2, 2 * WIDTH, 8));
    CHECK(cudaMemset2D(d2, pitch2, 0, pitch2, 8));
    CHECK(cudaMemcpy2D(d2 + 1 * pitch2 + 3, pitch2, d + 2 * pitch + 50, pitch, 500, 6, cudaMemcpyDeviceToDevice));
    unsigned char *all2 = malloc(pitch2 * 8);
    EXPECT(all2 != NULL, "malloc");
    CHECK(cudaMemcpy(all2, d2, pitch2 * 8, cudaMemcpyDeviceToHost));
    for (size_t r = 0; r < 8; r++) {
        for (size_t c = 0; c < pitch2; c++) {
            const int inside = r >= 1 && r < 7 && c >= 3 && c < 503;
            const unsigned char want = inside ? before(r - 1 + 2, c - 3 + 50) : 0;
            EXPECT(all2[r * pitch2 + c] == want, "after D2D 2D copy: row %zu col %zu is 0x%02x, expected 0x%02x", r,
                   c, all2[r * pitch2 + c], want);
        }
    }
    free(all2);
    printf("cudaMemcpy2D D2D of 500 x 6 between pitches %zu and %zu: verified, rest untouched\n", pitch, pitch2);

    /* 7. The same on a stream, and degenerate sizes. */
    cudaStream_t s;
    CHECK(cudaStreamCreate(&s));
    memset(h2, 0, hpitch2 * HEIGHT);
    CHECK(cudaMemcpy2DAsync(h2, hpitch2, d, pitch, WIDTH, HEIGHT, cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    EXPECT(h2[0] == pattern(0, 0) && h2[(HEIGHT - 1) * hpitch2 + WIDTH - 1] == pattern(HEIGHT - 1, WIDTH - 1),
           "cudaMemcpy2DAsync D2H");
    CHECK(cudaMemset2DAsync(d, pitch, 0x77, WIDTH, HEIGHT, s));
    CHECK(cudaMemcpy2D(h2, hpitch2, d, pitch, WIDTH, HEIGHT, cudaMemcpyDeviceToHost));
    for (size_t r = 0; r < HEIGHT; r++) {
        for (size_t c = 0; c < WIDTH; c++) {
            EXPECT(h2[r * hpitch2 + c] == 0x77, "after cudaMemset2DAsync: row %zu col %zu", r, c);
        }
    }
    CHECK(cudaStreamDestroy(s));
    CHECK(cudaMemcpy2D(d, pitch, h, hpitch, 0, HEIGHT, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy2D(d, pitch, h, hpitch, WIDTH, 0, cudaMemcpyHostToDevice));
    all = read_all(d, pitch);
    for (size_t r = 0; r < HEIGHT; r++) {
        EXPECT(all[r * pitch] == 0x77 && all[r * pitch + WIDTH - 1] == 0x77, "a zero-sized 2D copy wrote row %zu", r);
    }
    free(all);
    printf("cudaMemcpy2DAsync and cudaMemset2DAsync on a stream: verified; zero width or height: no-op\n");

    /* 8. Rows wider than a pitch are refused. */
    EXPECT_ERROR(cudaMemcpy2D(d, pitch, h, WIDTH - 1, WIDTH, HEIGHT, cudaMemcpyHostToDevice),
                 cudaErrorInvalidPitchValue);
    EXPECT_ERROR(cudaMemcpy2D(h, hpitch, d, WIDTH - 1, WIDTH, 2, cudaMemcpyDeviceToHost),
                 cudaErrorInvalidPitchValue);
    printf("cudaMemcpy2D with width > pitch: cudaErrorInvalidPitchValue, as expected\n");

    free(h);
    free(h2);
    CHECK(cudaFree(d));
    CHECK(cudaFree(d2));
    printf("pitched_2d: all steps passed\n");
    return 0;
}
