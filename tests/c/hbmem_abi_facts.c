/* The vendor ABI facts of hbmem (/work/shared/reference/horizon.md §2.2-2.5)
 * asserted against accelmem's hb_mem_mgr.h and hb_mem_err.h at compile time.
 * Built as C11 and as C++11 by tests/hbmem_abi.rs with -Wall -Wextra -Werror
 * -Wpedantic. Layouts are the LP64 ones (x86_64, AArch64).
 *
 * The §2.2 prototypes below are the vendor's text, each behind
 * HAVE_<name>: tests/hbmem_abi.rs defines HAVE_<name> for every function
 * our hb_mem_mgr.h declares, so each one is redeclared exactly as the vendor
 * does (a differing type is a compile error), and the set grows with the
 * header. */
#include <hb_mem_mgr.h>
#include <hb_mem_err.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
#define FACT(c) static_assert(c, #c)
#define ALIGNOF(t) alignof(t)
#else
#define FACT(c) _Static_assert(c, #c)
#define ALIGNOF(t) _Alignof(t)
#endif

#define FIELD_SIZE(t, f) sizeof(((t *)0)->f)

FACT(sizeof(void *) == 8); /* the layouts below are LP64 */

/* §2.3 constants */
FACT(MAX_GRAPHIC_BUF_COMP == 3);
FACT(HB_MEM_MAXIMUM_GRAPH_BUF == 8);

/* §2.3 usage flags. Ours is int64_t with #defines (the vendor's is an
 * 8-byte enum): values and size only. */
FACT(sizeof(mem_usage_t) == 8);
FACT(HB_MEM_USAGE_CPU_READ_NEVER == 0x0);
FACT(HB_MEM_USAGE_CPU_READ_OFTEN == 0x1);
FACT(HB_MEM_USAGE_CPU_READ_MASK == 0xF);
FACT(HB_MEM_USAGE_CPU_WRITE_NEVER == 0x0);
FACT(HB_MEM_USAGE_CPU_WRITE_OFTEN == 0x10);
FACT(HB_MEM_USAGE_CPU_WRITE_MASK == 0xF0);
FACT(HB_MEM_USAGE_HW_CIM == 0x100);
FACT(HB_MEM_USAGE_HW_PYRAMID == 0x200);
FACT(HB_MEM_USAGE_HW_GDC == 0x400);
FACT(HB_MEM_USAGE_HW_STITCH == 0x800);
FACT(HB_MEM_USAGE_HW_OPTICAL_FLOW == 0x1000);
FACT(HB_MEM_USAGE_HW_BPU == 0x2000);
FACT(HB_MEM_USAGE_HW_ISP == 0x4000);
FACT(HB_MEM_USAGE_HW_DISPLAY == 0x8000);
FACT(HB_MEM_USAGE_HW_VIDEO_CODEC == 0x10000);
FACT(HB_MEM_USAGE_HW_JPEG_CODEC == 0x20000);
FACT(HB_MEM_USAGE_HW_VDSP == 0x40000);
FACT(HB_MEM_USAGE_HW_GDC_OUT == 0x00080000);
FACT(HB_MEM_USAGE_HW_IPC == 0x00100000);
FACT(HB_MEM_USAGE_HW_PCIE == 0x00200000);
FACT(HB_MEM_USAGE_HW_YNR == 0x00400000);
FACT(HB_MEM_USAGE_HW_MASK == 0x00FFFF00);
FACT(HB_MEM_USAGE_MAP_INITIALIZED == 0x01000000);
FACT(HB_MEM_USAGE_MAP_UNINITIALIZED == 0x02000000);
FACT(HB_MEM_USAGE_CACHED == 0x04000000);
FACT(HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF == 0x08000000);
FACT(HB_MEM_USAGE_MEM_POOL == 0x10000000);
FACT(HB_MEM_USAGE_MEM_SHARE_POOL == 0x20000000);
FACT(HB_MEM_USAGE_TRIVIAL_MASK == 0xFF000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_DMA == 0x0);
FACT(HB_MEM_USAGE_PRIV_HEAP_RESERVERD == 0x100000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_RESERVED == 0x100000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_SRAM == 0x200000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_2_RESERVERD == 0x400000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_2_RESERVED == 0x400000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_SRAM_LIMIT == 0x800000000);
FACT(HB_MEM_USAGE_PRIV_HEAP_INLINE_ECC == 0x1000000000);
FACT(HB_MEM_USAGE_PRIV_MASK == 0xFF00000000);
/* Flags combine into an int64_t (the API's type) without loss. */
FACT((int64_t)(HB_MEM_USAGE_CACHED | HB_MEM_USAGE_PRIV_HEAP_INLINE_ECC) == 0x1004000000);

/* §2.3 pixel formats */
FACT(MEM_PIX_FMT_NONE == -1);
FACT(MEM_PIX_FMT_RGB565 == 0);
FACT(MEM_PIX_FMT_RGB24 == 1);
FACT(MEM_PIX_FMT_BGR24 == 2);
FACT(MEM_PIX_FMT_ARGB == 3);
FACT(MEM_PIX_FMT_RGBA == 4);
FACT(MEM_PIX_FMT_ABGR == 5);
FACT(MEM_PIX_FMT_BGRA == 6);
FACT(MEM_PIX_FMT_YUV420P == 7);
FACT(MEM_PIX_FMT_NV12 == 8);
FACT(MEM_PIX_FMT_NV21 == 9);
FACT(MEM_PIX_FMT_YUV422P == 10);
FACT(MEM_PIX_FMT_NV16 == 11);
FACT(MEM_PIX_FMT_NV61 == 12);
FACT(MEM_PIX_FMT_YUYV422 == 13);
FACT(MEM_PIX_FMT_YVYU422 == 14);
FACT(MEM_PIX_FMT_UYVY422 == 15);
FACT(MEM_PIX_FMT_VYUY422 == 16);
FACT(MEM_PIX_FMT_YUV444 == 17);
FACT(MEM_PIX_FMT_YUV444P == 18);
FACT(MEM_PIX_FMT_NV24 == 19);
FACT(MEM_PIX_FMT_NV42 == 20);
FACT(MEM_PIX_FMT_YUV440P == 21);
FACT(MEM_PIX_FMT_YUV400 == 22);
FACT(MEM_PIX_FMT_RAW8 == 23);
FACT(MEM_PIX_FMT_RAW10 == 24);
FACT(MEM_PIX_FMT_RAW12 == 25);
FACT(MEM_PIX_FMT_RAW14 == 26);
FACT(MEM_PIX_FMT_RAW16 == 27);
FACT(MEM_PIX_FMT_RAW20 == 28);
FACT(MEM_PIX_FMT_RAW24 == 29);
FACT(MEM_PIX_FMT_TOTAL == 30);
/* An enum with -1 is a signed int with GCC, as the vendor's. */
FACT(sizeof(mem_pixel_format_t) == 4);

/* §2.3 buffer types */
FACT(HB_MEM_BUFFER_TYPE_COMMON == 0);
FACT(HB_MEM_BUFFER_TYPE_GRAPHIC == 1);
FACT(HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP == 2);
FACT(HB_MEM_BUFFER_TYPE_MAX == 3);
FACT(sizeof(hb_mem_buffer_type_t) == 4);

/* §2.4 hb_mem_common_buf_t */
FACT(sizeof(hb_mem_common_buf_t) == 48);
FACT(ALIGNOF(hb_mem_common_buf_t) == 8);
FACT(offsetof(hb_mem_common_buf_t, fd) == 0);
FACT(offsetof(hb_mem_common_buf_t, share_id) == 4);
FACT(offsetof(hb_mem_common_buf_t, flags) == 8);
FACT(offsetof(hb_mem_common_buf_t, size) == 16);
FACT(offsetof(hb_mem_common_buf_t, virt_addr) == 24);
FACT(offsetof(hb_mem_common_buf_t, phys_addr) == 32);
FACT(offsetof(hb_mem_common_buf_t, offset) == 40);
FACT(FIELD_SIZE(hb_mem_common_buf_t, flags) == 8);
FACT(FIELD_SIZE(hb_mem_common_buf_t, virt_addr) == 8);

/* §2.4 hb_mem_graphic_buf_t */
FACT(sizeof(hb_mem_graphic_buf_t) == 160);
FACT(ALIGNOF(hb_mem_graphic_buf_t) == 8);
FACT(offsetof(hb_mem_graphic_buf_t, fd) == 0);
FACT(FIELD_SIZE(hb_mem_graphic_buf_t, fd) == 12);
FACT(offsetof(hb_mem_graphic_buf_t, plane_cnt) == 12);
FACT(offsetof(hb_mem_graphic_buf_t, format) == 16);
FACT(offsetof(hb_mem_graphic_buf_t, width) == 20);
FACT(offsetof(hb_mem_graphic_buf_t, height) == 24);
FACT(offsetof(hb_mem_graphic_buf_t, stride) == 28);
FACT(offsetof(hb_mem_graphic_buf_t, vstride) == 32);
FACT(offsetof(hb_mem_graphic_buf_t, is_contig) == 36);
FACT(offsetof(hb_mem_graphic_buf_t, share_id) == 40);
FACT(FIELD_SIZE(hb_mem_graphic_buf_t, share_id) == 12);
FACT(offsetof(hb_mem_graphic_buf_t, flags) == 56);
FACT(offsetof(hb_mem_graphic_buf_t, size) == 64);
FACT(FIELD_SIZE(hb_mem_graphic_buf_t, size) == 24);
FACT(offsetof(hb_mem_graphic_buf_t, virt_addr) == 88);
FACT(FIELD_SIZE(hb_mem_graphic_buf_t, virt_addr) == 24);
FACT(offsetof(hb_mem_graphic_buf_t, phys_addr) == 112);
FACT(offsetof(hb_mem_graphic_buf_t, offset) == 136);
FACT(FIELD_SIZE(hb_mem_graphic_buf_t, offset) == 24);

/* §2.4 hb_mem_graphic_buf_group_t */
FACT(sizeof(hb_mem_graphic_buf_group_t) == 1288);
FACT(offsetof(hb_mem_graphic_buf_group_t, graph_group) == 0);
FACT(FIELD_SIZE(hb_mem_graphic_buf_group_t, graph_group) == 8 * 160);
FACT(offsetof(hb_mem_graphic_buf_group_t, group_id) == 1280);
FACT(offsetof(hb_mem_graphic_buf_group_t, bit_map) == 1284);

/* §2.4 hb_mem_buf_queue_t */
FACT(sizeof(hb_mem_buf_queue_t) == 16);
FACT(offsetof(hb_mem_buf_queue_t, unique_id) == 0);
FACT(offsetof(hb_mem_buf_queue_t, count) == 8);
FACT(offsetof(hb_mem_buf_queue_t, item_size) == 12);

/* §2.4 hb_mem_pool_t */
FACT(sizeof(hb_mem_pool_t) == 40);
FACT(offsetof(hb_mem_pool_t, flags) == 0);
FACT(offsetof(hb_mem_pool_t, size) == 8);
FACT(offsetof(hb_mem_pool_t, fd) == 16);
FACT(offsetof(hb_mem_pool_t, page_size) == 20);
FACT(offsetof(hb_mem_pool_t, total_page_cnt) == 24);
FACT(offsetof(hb_mem_pool_t, avail_page_cnt) == 28);
FACT(offsetof(hb_mem_pool_t, cur_client_cnt) == 32);
FACT(offsetof(hb_mem_pool_t, reserved) == 36);

/* §2.4 hb_mem_share_pool_t (size is uint32_t; 4 bytes tail padding) */
FACT(sizeof(hb_mem_share_pool_t) == 32);
FACT(offsetof(hb_mem_share_pool_t, flags) == 0);
FACT(offsetof(hb_mem_share_pool_t, size) == 8);
FACT(FIELD_SIZE(hb_mem_share_pool_t, size) == 4);
FACT(offsetof(hb_mem_share_pool_t, fd) == 12);
FACT(offsetof(hb_mem_share_pool_t, total_buf_cnt) == 16);
FACT(offsetof(hb_mem_share_pool_t, avail_buf_cnt) == 20);
FACT(offsetof(hb_mem_share_pool_t, reserved) == 24);

/* §2.5 error codes */
FACT(HB_MEM_ERR_UNKNOWN == -16777215);
FACT(HB_MEM_ERR_INVALID_PARAMS == -16777214);
FACT(HB_MEM_ERR_INVALID_FD == -16777213);
FACT(HB_MEM_ERR_INVALID_VADDR == -16777212);
FACT(HB_MEM_ERR_INSUFFICIENT_MEM == -16777211);
FACT(HB_MEM_ERR_TOO_MANY_FD == -16777210);
FACT(HB_MEM_ERR_TIMEOUT == -16777209);
FACT(HB_MEM_ERR_MODULE_NOT_FOUND == -16777208);
FACT(HB_MEM_ERR_MODULE_OPEN_FAIL == -16777207);
FACT(HB_MEM_ERR_QUEUE_NOT_FOUND == -16777206);
FACT(HB_MEM_ERR_QUEUE_DESTROYED == -16777205);
FACT(HB_MEM_ERR_QUEUE_WRONG_SLOT == -16777204);
FACT(HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT == -16777203);
FACT(HB_MEM_ERR_QUEUE_ALREADY_EXIST == -16777202);
FACT(HB_MEM_ERR_POOL_NOT_FOUND == -16777201);
FACT(HB_MEM_ERR_POOL_DESTROYED == -16777200);
FACT(HB_MEM_ERR_POOL_BUSY == -16777199);
FACT(HB_MEM_ERR_WAIT_SHARE_FAILURE == -16777198);
FACT(HB_MEM_ERR_NOT_ALLOW == -16777197);
FACT(HB_MEM_ERR_CHECK_VER_FAIL == -16777196);
FACT(HB_MEM_ERR_REGISTER_FAIL == -16777195);
FACT(HB_MEM_ERR_INVALID_GROUPID == -16777194);
FACT((uint32_t)HB_MEM_ERR_UNKNOWN == 0xFF000001u);
FACT((uint32_t)HB_MEM_ERR_NOT_ALLOW == 0xFF000013u);
FACT(HB_MEM_ERR(1) == -1);
FACT(HB_MEM_UNERR(-5) == 5);
FACT(HB_MEM_ERR_MAX_STR_SIZE == 256);

/* §2.2 prototypes, verbatim. In C++ they sit in extern "C" so that a
 * differing parameter list is a "conflicting declaration of C function"
 * error rather than an overload. */
#ifdef __cplusplus
extern "C" {
#endif
extern int32_t hb_mem_strerror(int32_t err_num, char * err_buf, size_t errbuf_size);
#ifdef HAVE_hb_mem_get_version
int32_t hb_mem_get_version(uint32_t *major, uint32_t *minor, uint32_t *patch);
#endif
#ifdef HAVE_hb_mem_module_open
int32_t hb_mem_module_open(void);
#endif
#ifdef HAVE_hb_mem_module_close
int32_t hb_mem_module_close(void);
#endif
/* allocation */
#ifdef HAVE_hb_mem_alloc_com_buf
int32_t hb_mem_alloc_com_buf(uint64_t size, int64_t flags, hb_mem_common_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_get_com_buf
int32_t hb_mem_get_com_buf(int32_t fd, hb_mem_common_buf_t *buf);
#endif
#ifdef HAVE_hb_mem_alloc_graph_buf
int32_t hb_mem_alloc_graph_buf(int32_t w, int32_t h, int32_t format, int64_t flags,
                               int32_t stride, int32_t vstride, hb_mem_graphic_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_get_graph_buf
int32_t hb_mem_get_graph_buf(int32_t fd, hb_mem_graphic_buf_t *buf);
#endif
#ifdef HAVE_hb_mem_free_buf
int32_t hb_mem_free_buf(int32_t fd);
#endif
#ifdef HAVE_hb_mem_invalidate_buf
int32_t hb_mem_invalidate_buf(int32_t fd, uint64_t offset, uint64_t size);
#endif
#ifdef HAVE_hb_mem_flush_buf
int32_t hb_mem_flush_buf(int32_t fd, uint64_t offset, uint64_t size);
#endif
#ifdef HAVE_hb_mem_is_valid_buf
int32_t hb_mem_is_valid_buf(uint64_t virt_addr, uint64_t size, int32_t *valid);
#endif
#ifdef HAVE_hb_mem_get_phys_addr
int32_t hb_mem_get_phys_addr(uint64_t virt_addr, uint64_t * phys_addr);
#endif
#ifdef HAVE_hb_mem_get_buf_info
int32_t hb_mem_get_buf_info(uint64_t virt_addr, uint64_t *start, uint64_t *size, int64_t *flags);
#endif
#ifdef HAVE_hb_mem_invalidate_buf_with_vaddr
int32_t hb_mem_invalidate_buf_with_vaddr(uint64_t virt_addr, uint64_t size);
#endif
#ifdef HAVE_hb_mem_flush_buf_with_vaddr
int32_t hb_mem_flush_buf_with_vaddr(uint64_t virt_addr, uint64_t size);
#endif
#ifdef HAVE_hb_mem_get_com_buf_with_vaddr
int32_t hb_mem_get_com_buf_with_vaddr(uint64_t virt_addr,  hb_mem_common_buf_t *buf);
#endif
#ifdef HAVE_hb_mem_get_graph_buf_with_vaddr
int32_t hb_mem_get_graph_buf_with_vaddr(uint64_t virt_addr,  hb_mem_graphic_buf_t *buf);
#endif
#ifdef HAVE_hb_mem_free_buf_with_vaddr
int32_t hb_mem_free_buf_with_vaddr(uint64_t virt_addr);
#endif
/* sharing */
#ifdef HAVE_hb_mem_import_com_buf
int32_t hb_mem_import_com_buf(hb_mem_common_buf_t * buf, hb_mem_common_buf_t * out_buf);
#endif
#ifdef HAVE_hb_mem_import_graph_buf
int32_t hb_mem_import_graph_buf(hb_mem_graphic_buf_t * buf, hb_mem_graphic_buf_t * out_buf);
#endif
#ifdef HAVE_hb_mem_get_share_info
int32_t hb_mem_get_share_info(int32_t fd, int32_t * share_client_cnt);
#endif
#ifdef HAVE_hb_mem_get_share_info_with_vaddr
int32_t hb_mem_get_share_info_with_vaddr(uint64_t virt_addr, int32_t * share_client_cnt);
#endif
#ifdef HAVE_hb_mem_wait_share_status
int32_t hb_mem_wait_share_status(int32_t fd, int32_t share_client_cnt, int64_t timeout);          /* ms */
#endif
#ifdef HAVE_hb_mem_wait_share_status_with_vaddr
int32_t hb_mem_wait_share_status_with_vaddr(uint64_t virt_addr, int32_t share_client_cnt, int64_t timeout);
#endif
/* buffer queue */
#ifdef HAVE_hb_mem_create_buf_queue
int32_t hb_mem_create_buf_queue(hb_mem_buf_queue_t *queue);
#endif
#ifdef HAVE_hb_mem_destroy_buf_queue
int32_t hb_mem_destroy_buf_queue(hb_mem_buf_queue_t *queue);
#endif
#ifdef HAVE_hb_mem_dequeue_buf
int32_t hb_mem_dequeue_buf(hb_mem_buf_queue_t * queue, int32_t *slot, void * buf, int64_t timeout);
#endif
#ifdef HAVE_hb_mem_queue_buf
int32_t hb_mem_queue_buf(hb_mem_buf_queue_t * queue, int32_t slot, const void * buf);
#endif
#ifdef HAVE_hb_mem_request_buf
int32_t hb_mem_request_buf(hb_mem_buf_queue_t * queue, int32_t *slot, void * buf, int64_t timeout);
#endif
#ifdef HAVE_hb_mem_release_buf
int32_t hb_mem_release_buf(hb_mem_buf_queue_t * queue, int32_t slot);
#endif
#ifdef HAVE_hb_mem_cancel_buf
int32_t hb_mem_cancel_buf(hb_mem_buf_queue_t * queue, int32_t slot);
#endif
/* memory pool (single process) */
#ifdef HAVE_hb_mem_pool_create
int32_t hb_mem_pool_create(uint64_t size, int64_t flags, hb_mem_pool_t * pool);
#endif
#ifdef HAVE_hb_mem_pool_destroy
int32_t hb_mem_pool_destroy(int32_t fd);
#endif
#ifdef HAVE_hb_mem_pool_alloc_buf
int32_t hb_mem_pool_alloc_buf(int32_t fd, uint64_t size, hb_mem_common_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_pool_free_buf
int32_t hb_mem_pool_free_buf(uint64_t virt_addr);
#endif
#ifdef HAVE_hb_mem_pool_get_info
int32_t hb_mem_pool_get_info(int32_t fd, hb_mem_pool_t * pool);
#endif
/* share pool (multi process, fixed-size buffers) */
#ifdef HAVE_hb_mem_share_pool_create
int32_t hb_mem_share_pool_create(uint32_t num, uint64_t size, int64_t flags, hb_mem_share_pool_t * pool);
#endif
#ifdef HAVE_hb_mem_share_pool_destroy
int32_t hb_mem_share_pool_destroy(int32_t fd);
#endif
#ifdef HAVE_hb_mem_share_pool_alloc_buf
int32_t hb_mem_share_pool_alloc_buf(int32_t fd, hb_mem_common_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_share_pool_free_buf
int32_t hb_mem_share_pool_free_buf(uint64_t virt_addr);
#endif
#ifdef HAVE_hb_mem_share_pool_get_info
int32_t hb_mem_share_pool_get_info(int32_t fd, hb_mem_share_pool_t * pool);
#endif
/* type / process info */
#ifdef HAVE_hb_mem_get_buf_type_with_vaddr
int32_t hb_mem_get_buf_type_with_vaddr(uint64_t virt_addr, hb_mem_buffer_type_t *type);
#endif
#ifdef HAVE_hb_mem_get_buf_type_and_buf_with_vaddr
int32_t hb_mem_get_buf_type_and_buf_with_vaddr(uint64_t virt_addr, hb_mem_buffer_type_t *type,
                                               hb_mem_common_buf_t *com_buf, hb_mem_graphic_buf_t *graph_buf);
#endif
#ifdef HAVE_hb_mem_get_buffer_process_info
int32_t hb_mem_get_buffer_process_info(uint64_t virt_addr, int32_t *pid, int32_t num, int32_t *ret_num);
#endif
#ifdef HAVE_hb_mem_get_buffer_process_info_with_share_id
int32_t hb_mem_get_buffer_process_info_with_share_id(int32_t share_id, int32_t *pid, int32_t num, int32_t *ret_num);
#endif
/* consume counts */
#ifdef HAVE_hb_mem_get_consume_info
int32_t hb_mem_get_consume_info(int32_t fd, int32_t * share_consume_cnt);
#endif
#ifdef HAVE_hb_mem_get_consume_info_with_vaddr
int32_t hb_mem_get_consume_info_with_vaddr(uint64_t virt_addr, int32_t * share_consume_cnt);
#endif
#ifdef HAVE_hb_mem_wait_consume_status
int32_t hb_mem_wait_consume_status(int32_t fd, int32_t share_consume_cnt, int64_t timeout);
#endif
#ifdef HAVE_hb_mem_wait_consume_status_with_vaddr
int32_t hb_mem_wait_consume_status_with_vaddr(uint64_t virt_addr, int32_t share_consume_cnt, int64_t timeout);
#endif
#ifdef HAVE_hb_mem_inc_com_buf_consume_cnt
int32_t hb_mem_inc_com_buf_consume_cnt(hb_mem_common_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_inc_graph_buf_consume_cnt
int32_t hb_mem_inc_graph_buf_consume_cnt(hb_mem_graphic_buf_t * buf);
#endif
#ifdef HAVE_hb_mem_dec_consume_cnt
int32_t hb_mem_dec_consume_cnt(int32_t fd);
#endif
#ifdef HAVE_hb_mem_dec_consume_cnt_with_vaddr
int32_t hb_mem_dec_consume_cnt_with_vaddr(uint64_t virt_addr);
#endif
/* misc */
#ifdef HAVE_hb_mem_import_com_buf_with_paddr
int32_t hb_mem_import_com_buf_with_paddr(uint64_t phys_addr, uint64_t size, int64_t flags, hb_mem_common_buf_t *buf);
#endif
#ifdef HAVE_hb_mem_dma_copy
int32_t hb_mem_dma_copy(uint64_t dst_vaddr, uint64_t src_vaddr, uint64_t size);
#endif
/* graphic buffer group */
#ifdef HAVE_hb_mem_alloc_graph_buf_group
int32_t hb_mem_alloc_graph_buf_group(int32_t *w, int32_t *h, int32_t *format, int64_t *flags, int32_t *stride,
                                     int32_t *vstride, hb_mem_graphic_buf_group_t * buf_group, uint32_t bitmap);
#endif
#ifdef HAVE_hb_mem_import_graph_buf_group
int32_t hb_mem_import_graph_buf_group(hb_mem_graphic_buf_group_t *in_group, hb_mem_graphic_buf_group_t *out_group);
#endif
#ifdef HAVE_hb_mem_get_graph_buf_group
int32_t hb_mem_get_graph_buf_group(int32_t fd, hb_mem_graphic_buf_group_t *buf_group);
#endif
#ifdef HAVE_hb_mem_get_graph_buf_group_with_vaddr
int32_t hb_mem_get_graph_buf_group_with_vaddr(uint64_t virt_addr, hb_mem_graphic_buf_group_t *buf_group);
#endif
#ifdef HAVE_hb_mem_inc_graph_buf_group_consume_cnt
int32_t hb_mem_inc_graph_buf_group_consume_cnt(hb_mem_graphic_buf_group_t * buf_group);
#endif
#ifdef HAVE_hb_mem_get_buf_and_type_with_vaddr
int32_t hb_mem_get_buf_and_type_with_vaddr(uint64_t virt_addr, hb_mem_buffer_type_t *type, hb_mem_common_buf_t *com_buf,
                                           hb_mem_graphic_buf_t *graph_buf, hb_mem_graphic_buf_group_t *graph_group);
#endif
/* user-space consume count (not for group / pool / share-pool buffers) */
#ifdef HAVE_hb_mem_inc_user_consume_cnt
int32_t hb_mem_inc_user_consume_cnt(int32_t hb_fd);
#endif
#ifdef HAVE_hb_mem_dec_user_consume_cnt
int32_t hb_mem_dec_user_consume_cnt(int32_t hb_fd);
#endif
#ifdef HAVE_hb_mem_inc_user_consume_cnt_with_vaddr
int32_t hb_mem_inc_user_consume_cnt_with_vaddr(uint64_t virt_addr);
#endif
#ifdef HAVE_hb_mem_dec_user_consume_cnt_with_vaddr
int32_t hb_mem_dec_user_consume_cnt_with_vaddr(uint64_t virt_addr);
#endif
#ifdef __cplusplus
}
#endif

int main(void)
{
    /* hb_mem_make_error_string is a static inline of the vendor header
     * that returns its buffer (linked against libaccelmem). */
    char buf[HB_MEM_ERR_MAX_STR_SIZE];
    char *(*make)(int32_t, char *, size_t) = hb_mem_make_error_string;
    if (make(HB_MEM_ERR_TIMEOUT, buf, sizeof buf) != buf || buf[0] == 0) {
        printf("hb_mem_make_error_string failed\n");
        return 1;
    }
#ifdef __cplusplus
    printf("all facts hold (C++)\n");
#else
    printf("all facts hold (C)\n");
#endif
    return 0;
}
