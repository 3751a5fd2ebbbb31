/*
 * hbmem_graphic.c: graphic buffers with the Horizon hbmem API (hb_mem_mgr.h,
 * libhbmem), in the style of the RDK sample_hbmem programs.
 *
 * A graphic buffer is an image: up to three planes (NV12 has two, Y and
 * interleaved UV), each with its own fd, size, virtual and physical address,
 * described by hb_mem_graphic_buf_t. Planes are separate pieces of memory
 * unless HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF asks for one piece.
 *
 * Steps:
 *   1. hb_mem_module_open
 *   2. hb_mem_alloc_graph_buf: NV12 1920x1080 (stride and vstride 0: the
 *      library picks them), print planes, strides, sizes
 *   3. write Y and UV, hb_mem_flush_buf on each plane, invalidate, look the
 *      buffer up by an address inside its UV plane
 *      (hb_mem_get_graph_buf_with_vaddr) and read the bytes back through it
 *   4. hb_mem_get_buf_type_with_vaddr = HB_MEM_BUFFER_TYPE_GRAPHIC
 *   5. free it through its UV plane's fd: every plane goes
 *   6. the same image with HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF: one fd, the
 *      UV plane right after the Y plane
 *   7. a group of 3 graphic buffers chosen by a bitmap (bits 0, 1 and 3),
 *      hb_mem_get_graph_buf_group_with_vaddr, type GRAPHIC_GROUP, freed
 *      through one plane fd of one member
 *   8. hb_mem_module_close
 *
 * Build: cc -Wall -Wextra -Werror -I include hbmem_graphic.c -L <dir> -laccelmem
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hb_mem_err.h>
#include <hb_mem_mgr.h>

#define WIDTH 1920
#define HEIGHT 1080
#define Y_VALUE 0x51
#define UV_VALUE 0x80

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

static const int64_t cpu_flags = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;

static void print_planes(const char *what, const hb_mem_graphic_buf_t *g)
{
    int i;

    printf("%s: %dx%d format=%d planes=%d stride=%d vstride=%d is_contig=%d\n", what, (int)g->width,
           (int)g->height, (int)g->format, (int)g->plane_cnt, (int)g->stride, (int)g->vstride, (int)g->is_contig);
    for (i = 0; i < g->plane_cnt; i++) {
        printf("  plane %d: fd=%d share_id=%d size=%" PRIu64 " offset=%" PRIu64 " phys=0x%" PRIx64 "\n", i,
               (int)g->fd[i], (int)g->share_id[i], g->size[i], g->offset[i], g->phys_addr[i]);
    }
}

/* Every byte of `len` bytes at p equals v. */
static int all_equal(const uint8_t *p, uint64_t len, uint8_t v)
{
    uint64_t i;

    for (i = 0; i < len; i++) {
        if (p[i] != v) {
            return 0;
        }
    }
    return 1;
}

static int separate_planes(void)
{
    hb_mem_graphic_buf_t img, found;
    hb_mem_buffer_type_t type = HB_MEM_BUFFER_TYPE_MAX;
    int32_t ret;
    int i;

    memset(&img, 0, sizeof img);
    CHECK(hb_mem_alloc_graph_buf(WIDTH, HEIGHT, MEM_PIX_FMT_NV12, cpu_flags, 0, 0, &img));
    print_planes("hb_mem_alloc_graph_buf(NV12)", &img);
    EXPECT(img.plane_cnt == 2 && img.is_contig == 0);
    EXPECT(img.stride == WIDTH && img.vstride == HEIGHT);
    EXPECT(img.size[0] == (uint64_t)WIDTH * HEIGHT && img.size[1] == (uint64_t)WIDTH * HEIGHT / 2);
    EXPECT(img.fd[0] != img.fd[1] && img.virt_addr[0] != NULL && img.virt_addr[1] != NULL);

    /* The CPU writes the image, then flushes it for the hardware. */
    memset(img.virt_addr[0], Y_VALUE, img.size[0]);
    memset(img.virt_addr[1], UV_VALUE, img.size[1]);
    for (i = 0; i < img.plane_cnt; i++) {
        CHECK(hb_mem_flush_buf(img.fd[i], 0, img.size[i]));
        CHECK(hb_mem_invalidate_buf(img.fd[i], 0, img.size[i]));
    }
    printf("wrote Y=0x%02x and UV=0x%02x, flushed and invalidated both planes\n", Y_VALUE, UV_VALUE);

    /* Any address inside any plane finds the whole buffer. */
    CHECK(hb_mem_get_graph_buf_with_vaddr((uint64_t)(uintptr_t)img.virt_addr[1] + 1000, &found));
    EXPECT(found.fd[0] == img.fd[0] && found.fd[1] == img.fd[1]);
    EXPECT(found.virt_addr[0] == img.virt_addr[0] && found.virt_addr[1] == img.virt_addr[1]);
    EXPECT(found.size[0] == img.size[0] && found.size[1] == img.size[1]);
    EXPECT(all_equal(found.virt_addr[0], found.size[0], Y_VALUE));
    EXPECT(all_equal(found.virt_addr[1], found.size[1], UV_VALUE));
    printf("hb_mem_get_graph_buf_with_vaddr(UV plane + 1000): same buffer, reads Y=0x%02x UV=0x%02x\n",
           found.virt_addr[0][0], found.virt_addr[1][found.size[1] - 1]);

    CHECK(hb_mem_get_buf_type_with_vaddr((uint64_t)(uintptr_t)img.virt_addr[1], &type));
    printf("hb_mem_get_buf_type_with_vaddr(UV plane): %d (HB_MEM_BUFFER_TYPE_GRAPHIC is %d)\n", (int)type,
           (int)HB_MEM_BUFFER_TYPE_GRAPHIC);
    EXPECT(type == HB_MEM_BUFFER_TYPE_GRAPHIC);

    /* One plane's fd frees the whole buffer. */
    CHECK(hb_mem_free_buf(img.fd[1]));
    ret = hb_mem_get_graph_buf(img.fd[0], &found);
    printf("hb_mem_free_buf(UV fd); hb_mem_get_graph_buf(Y fd) now returns %d\n", (int)ret);
    EXPECT(ret == HB_MEM_ERR_INVALID_FD);
    return 0;
}

static int contiguous(void)
{
    hb_mem_graphic_buf_t img;
    hb_mem_common_buf_t com;

    memset(&img, 0, sizeof img);
    CHECK(hb_mem_alloc_graph_buf(WIDTH, HEIGHT, MEM_PIX_FMT_NV12, cpu_flags | HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF, 0,
                                 0, &img));
    print_planes("hb_mem_alloc_graph_buf(NV12, CONTIGUOUS)", &img);
    EXPECT(img.plane_cnt == 2 && img.is_contig == 1 && img.fd[0] == img.fd[1]);
    EXPECT(img.offset[0] == 0 && img.offset[1] == img.size[0]);
    EXPECT(img.phys_addr[1] == img.phys_addr[0] + img.size[0]);
    EXPECT(img.virt_addr[1] == img.virt_addr[0] + img.size[0]);

    memset(img.virt_addr[0], Y_VALUE, img.size[0]);
    memset(img.virt_addr[1], UV_VALUE, img.size[1]);
    CHECK(hb_mem_flush_buf(img.fd[0], 0, img.size[0] + img.size[1]));
    /* One piece: it is also a common buffer holding both planes. */
    CHECK(hb_mem_get_com_buf(img.fd[0], &com));
    printf("hb_mem_get_com_buf(fd): size=%" PRIu64 " (Y + UV = %" PRIu64 ")\n", com.size, img.size[0] + img.size[1]);
    EXPECT(com.size >= img.size[0] + img.size[1] && com.phys_addr == img.phys_addr[0]);
    EXPECT(com.virt_addr[img.size[0] - 1] == Y_VALUE && com.virt_addr[img.size[0]] == UV_VALUE);
    CHECK(hb_mem_free_buf(img.fd[0]));
    printf("contiguous buffer freed\n");
    return 0;
}

static int group(void)
{
    /* Parameters are indexed by bit position: only bits 0, 1 and 3 are used. */
    int32_t w[HB_MEM_MAXIMUM_GRAPH_BUF] = {1920, 1280, 0, 640};
    int32_t h[HB_MEM_MAXIMUM_GRAPH_BUF] = {1080, 720, 0, 480};
    int32_t fmt[HB_MEM_MAXIMUM_GRAPH_BUF] = {MEM_PIX_FMT_NV12, MEM_PIX_FMT_NV12, 0, MEM_PIX_FMT_YUV420P};
    int64_t flags[HB_MEM_MAXIMUM_GRAPH_BUF] = {cpu_flags, cpu_flags, 0, cpu_flags};
    int32_t stride[HB_MEM_MAXIMUM_GRAPH_BUF] = {0};
    int32_t vstride[HB_MEM_MAXIMUM_GRAPH_BUF] = {0};
    const uint32_t bitmap = (1u << 0) | (1u << 1) | (1u << 3);
    hb_mem_graphic_buf_group_t grp, found;
    hb_mem_buffer_type_t type = HB_MEM_BUFFER_TYPE_MAX;
    const hb_mem_graphic_buf_t *m3;
    int32_t ret;
    int i;

    memset(&grp, 0, sizeof grp);
    CHECK(hb_mem_alloc_graph_buf_group(w, h, fmt, flags, stride, vstride, &grp, bitmap));
    printf("hb_mem_alloc_graph_buf_group(bitmap 0x%x): group_id=%d bit_map=0x%x\n", (unsigned)bitmap,
           (int)grp.group_id, (unsigned)grp.bit_map);
    EXPECT(grp.bit_map == bitmap);
    for (i = 0; i < HB_MEM_MAXIMUM_GRAPH_BUF; i++) {
        const hb_mem_graphic_buf_t *m = &grp.graph_group[i];
        if (bitmap & (1u << i)) {
            printf("  member %d: %dx%d format=%d planes=%d\n", i, (int)m->width, (int)m->height, (int)m->format,
                   (int)m->plane_cnt);
            EXPECT(m->width == w[i] && m->height == h[i] && m->format == fmt[i]);
            EXPECT(m->plane_cnt == (fmt[i] == MEM_PIX_FMT_NV12 ? 2 : 3));
        } else {
            EXPECT(m->plane_cnt == 0);
        }
    }
    m3 = &grp.graph_group[3];
    memset(m3->virt_addr[2], 0x33, m3->size[2]);
    CHECK(hb_mem_flush_buf(m3->fd[2], 0, m3->size[2]));

    CHECK(hb_mem_get_graph_buf_group_with_vaddr((uint64_t)(uintptr_t)m3->virt_addr[2] + 10, &found));
    EXPECT(found.group_id == grp.group_id && found.bit_map == bitmap);
    EXPECT(found.graph_group[0].fd[0] == grp.graph_group[0].fd[0]);
    EXPECT(all_equal(found.graph_group[3].virt_addr[2], found.graph_group[3].size[2], 0x33));
    printf("hb_mem_get_graph_buf_group_with_vaddr(member 3, V plane): group_id=%d, reads 0x33\n",
           (int)found.group_id);

    CHECK(hb_mem_get_buf_type_with_vaddr((uint64_t)(uintptr_t)grp.graph_group[1].virt_addr[0], &type));
    printf("hb_mem_get_buf_type_with_vaddr(member 1): %d (HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP is %d)\n", (int)type,
           (int)HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP);
    EXPECT(type == HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP);

    /* One plane fd of one member frees the whole group. */
    CHECK(hb_mem_free_buf(m3->fd[1]));
    ret = hb_mem_get_graph_buf_group(grp.graph_group[0].fd[0], &found);
    printf("hb_mem_free_buf(member 3, U fd); hb_mem_get_graph_buf_group(member 0) now returns %d\n", (int)ret);
    EXPECT(ret == HB_MEM_ERR_INVALID_FD);
    return 0;
}

int main(void)
{
    CHECK(hb_mem_module_open());
    if (separate_planes() != 0 || contiguous() != 0 || group() != 0) {
        return 1;
    }
    CHECK(hb_mem_module_close());
    printf("hbmem_graphic: all steps passed\n");
    return 0;
}
