/* The RKNPU2 SDK 2.3.2 ABI facts of /work/shared/reference/rockchip.md
 * (§1.1-§1.9), asserted against accelmem's include/rknn_api.h at compile
 * time. Built as C11 and as C++11 by tests/rknn_abi.rs with -Wall -Wextra
 * -Werror -Wpedantic. Layouts are the LP64 ones (x86_64, AArch64).
 *
 * With RKNN_ABI_SDK_EXTRAS it also checks what the SDK's header has beyond
 * the reference's tables (struct/enum tags, the inline string helpers,
 * rknn_input_range, the NC1HWC2 aliases as enumerators); see rknn_abi.rs. */
#include "rknn_api.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#include <type_traits>
#define FACT(c) static_assert(c, #c)
#define SAME_TYPE(a, b) (std::is_same<a, b>::value)
#define FIELD_T(T, f) std::remove_reference<decltype(((T *)0)->f)>::type
#define EXPR_IS(e, t) (std::is_same<decltype(e), t>::value)
#else
#define FACT(c) _Static_assert(c, #c)
/* Pointer types compare exactly: int, unsigned int, long differ. */
#define SAME_TYPE(a, b) _Generic((a *)0, b *: 1, default: 0)
#define FIELD_T(T, f) __typeof__(((T *)0)->f)
#define EXPR_IS(e, t) _Generic((e), t: 1, default: 0)
#endif

/* A scalar field at `off` of type `ty`; an array field of `n` `ty`s. */
#define FIELD(T, f, off, ty) \
    FACT(offsetof(T, f) == (off)); \
    FACT(SAME_TYPE(FIELD_T(T, f), ty))
#define ARRAY(T, f, off, ty, n) \
    FACT(offsetof(T, f) == (off)); \
    FACT(SAME_TYPE(FIELD_T(T, f[0]), ty)); \
    FACT(sizeof(((T *)0)->f) == (n) * sizeof(ty))

FACT(sizeof(void *) == 8); /* the layouts below are LP64 */

/* §1.1: uint64_t off __arm__. */
FACT(SAME_TYPE(rknn_context, uint64_t));
FACT(sizeof(rknn_context) == 8);

/* §1.2 */
FACT(sizeof(rknn_tensor_mem) == 40);
FIELD(rknn_tensor_mem, virt_addr, 0, void *);
FIELD(rknn_tensor_mem, phys_addr, 8, uint64_t);
FIELD(rknn_tensor_mem, fd, 16, int32_t);
FIELD(rknn_tensor_mem, offset, 20, int32_t);
FIELD(rknn_tensor_mem, size, 24, uint32_t);
FIELD(rknn_tensor_mem, flags, 28, uint32_t);
FIELD(rknn_tensor_mem, priv_data, 32, void *);

/* §1.3: enumerated values (not bits), then bits, then directions. */
FACT(RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE == 1);
FACT(RKNN_TENSOR_MEMORY_FLAGS_FROM_FD == 2);
FACT(RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS == 3);
FACT(RKNN_TENSOR_MEMORY_FLAGS_UNKNOWN == 4);
FACT(RKNN_FLAG_MEMORY_FLAGS_DEFAULT == 0);
FACT(RKNN_FLAG_MEMORY_CACHEABLE == 1);
FACT(RKNN_FLAG_MEMORY_NON_CACHEABLE == 2);
FACT(RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM == 4);
FACT(RKNN_MEMORY_SYNC_TO_DEVICE == 1);
FACT(RKNN_MEMORY_SYNC_FROM_DEVICE == 2);
FACT(RKNN_MEMORY_SYNC_BIDIRECTIONAL == 3);
FACT(sizeof(rknn_tensor_mem_flags) == 4);
FACT(sizeof(rknn_mem_alloc_flags) == 4);
FACT(sizeof(rknn_mem_sync_mode) == 4);

/* §1.4 */
FACT(sizeof(rknn_input_output_num) == 8);
FIELD(rknn_input_output_num, n_input, 0, uint32_t);
FIELD(rknn_input_output_num, n_output, 4, uint32_t);
FACT(sizeof(rknn_sdk_version) == 512);
ARRAY(rknn_sdk_version, api_version, 0, char, 256);
ARRAY(rknn_sdk_version, drv_version, 256, char, 256);
FACT(sizeof(rknn_mem_size) == 64);
FIELD(rknn_mem_size, total_weight_size, 0, uint32_t);
FIELD(rknn_mem_size, total_internal_size, 4, uint32_t);
FIELD(rknn_mem_size, total_dma_allocated_size, 8, uint64_t);
FIELD(rknn_mem_size, total_sram_size, 16, uint32_t);
FIELD(rknn_mem_size, free_sram_size, 20, uint32_t);
ARRAY(rknn_mem_size, reserved, 24, uint32_t, 10);
FACT(sizeof(rknn_custom_string) == 1024);
ARRAY(rknn_custom_string, string, 0, char, 1024);
FACT(sizeof(rknn_perf_detail) == 16);
FIELD(rknn_perf_detail, perf_data, 0, char *);
FIELD(rknn_perf_detail, data_len, 8, uint64_t);
FACT(sizeof(rknn_perf_run) == 8);
FIELD(rknn_perf_run, run_duration, 0, int64_t);

/* §1.5 */
FACT(RKNN_MAX_DIMS == 16);
FACT(RKNN_MAX_NUM_CHANNEL == 15);
FACT(RKNN_MAX_NAME_LEN == 256);
FACT(RKNN_MAX_DYNAMIC_SHAPE_NUM == 512);
FACT(sizeof(rknn_tensor_attr) == 376);
FIELD(rknn_tensor_attr, index, 0, uint32_t);
FIELD(rknn_tensor_attr, n_dims, 4, uint32_t);
ARRAY(rknn_tensor_attr, dims, 8, uint32_t, RKNN_MAX_DIMS);
ARRAY(rknn_tensor_attr, name, 72, char, RKNN_MAX_NAME_LEN);
FIELD(rknn_tensor_attr, n_elems, 328, uint32_t);
FIELD(rknn_tensor_attr, size, 332, uint32_t);
FIELD(rknn_tensor_attr, fmt, 336, rknn_tensor_format);
FIELD(rknn_tensor_attr, type, 340, rknn_tensor_type);
FIELD(rknn_tensor_attr, qnt_type, 344, rknn_tensor_qnt_type);
FIELD(rknn_tensor_attr, fl, 348, int8_t);
FIELD(rknn_tensor_attr, zp, 352, int32_t);
FIELD(rknn_tensor_attr, scale, 356, float);
FIELD(rknn_tensor_attr, w_stride, 360, uint32_t);
FIELD(rknn_tensor_attr, size_with_stride, 364, uint32_t);
FIELD(rknn_tensor_attr, pass_through, 368, uint8_t);
FIELD(rknn_tensor_attr, h_stride, 372, uint32_t);

FACT(RKNN_TENSOR_NCHW == 0);
FACT(RKNN_TENSOR_NHWC == 1);
FACT(RKNN_TENSOR_NC1HWC2 == 2);
FACT(RKNN_TENSOR_UNDEFINED == 3);
FACT(RKNN_TENSOR_FORMAT_MAX == 4);
FACT(RKNN_TENSOR_FLOAT32 == 0);
FACT(RKNN_TENSOR_FLOAT16 == 1);
FACT(RKNN_TENSOR_INT8 == 2);
FACT(RKNN_TENSOR_UINT8 == 3);
FACT(RKNN_TENSOR_INT16 == 4);
FACT(RKNN_TENSOR_UINT16 == 5);
FACT(RKNN_TENSOR_INT32 == 6);
FACT(RKNN_TENSOR_UINT32 == 7);
FACT(RKNN_TENSOR_INT64 == 8);
FACT(RKNN_TENSOR_BOOL == 9);
FACT(RKNN_TENSOR_INT4 == 10);
FACT(RKNN_TENSOR_BFLOAT16 == 11);
FACT(RKNN_TENSOR_TYPE_MAX == 12);
FACT(RKNN_TENSOR_QNT_NONE == 0);
FACT(RKNN_TENSOR_QNT_DFP == 1);
FACT(RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC == 2);
FACT(RKNN_TENSOR_QNT_MAX == 3);
FACT(RKNN_NPU_CORE_AUTO == 0);
FACT(RKNN_NPU_CORE_0 == 1);
FACT(RKNN_NPU_CORE_1 == 2);
FACT(RKNN_NPU_CORE_2 == 4);
FACT(RKNN_NPU_CORE_0_1 == 3);
FACT(RKNN_NPU_CORE_0_1_2 == 7);
FACT(RKNN_NPU_CORE_ALL == 0xffff);
FACT(RKNN_NPU_CORE_UNDEFINED == 0x10000); /* the enumerator after 0xffff */
FACT(sizeof(rknn_tensor_format) == 4);
FACT(sizeof(rknn_tensor_type) == 4);
FACT(sizeof(rknn_tensor_qnt_type) == 4);
FACT(sizeof(rknn_core_mask) == 4);

/* §1.5 gives sizes only for these. Offsets and field types from the SDK's
 * header (airockchip/rknn-toolkit2 :
 * rknpu2/runtime/Linux/librknn_api/include/rknn_api.h, V2.3.2, read through
 * the search tool): _rknn_input { uint32_t index; void* buf; uint32_t size;
 * uint8_t pass_through; rknn_tensor_type type; rknn_tensor_format fmt; }
 * and _rknn_output { uint8_t want_float; uint8_t is_prealloc; uint32_t
 * index; void* buf; uint32_t size; }. */
FACT(sizeof(rknn_input) == 32);
FIELD(rknn_input, index, 0, uint32_t);
FIELD(rknn_input, buf, 8, void *);
FIELD(rknn_input, size, 16, uint32_t);
FIELD(rknn_input, pass_through, 20, uint8_t);
FIELD(rknn_input, type, 24, rknn_tensor_type);
FIELD(rknn_input, fmt, 28, rknn_tensor_format);
FACT(sizeof(rknn_output) == 24);
FIELD(rknn_output, want_float, 0, uint8_t);
FIELD(rknn_output, is_prealloc, 1, uint8_t);
FIELD(rknn_output, index, 4, uint32_t);
FIELD(rknn_output, buf, 8, void *);
FIELD(rknn_output, size, 16, uint32_t);

FACT(sizeof(rknn_init_extend) == 136);
FIELD(rknn_init_extend, ctx, 0, rknn_context);
FIELD(rknn_init_extend, real_model_offset, 8, int32_t);
FIELD(rknn_init_extend, real_model_size, 12, uint32_t);
FIELD(rknn_init_extend, model_buffer_fd, 16, int32_t);
FIELD(rknn_init_extend, model_buffer_flags, 20, uint32_t);
ARRAY(rknn_init_extend, reserved, 24, uint8_t, 112);
FACT(sizeof(rknn_run_extend) == 24);
FIELD(rknn_run_extend, frame_id, 0, uint64_t);
FIELD(rknn_run_extend, non_block, 8, int32_t);
FIELD(rknn_run_extend, timeout_ms, 12, int32_t);
FIELD(rknn_run_extend, fence_fd, 16, int32_t);
FACT(sizeof(rknn_output_extend) == 8);
FIELD(rknn_output_extend, frame_id, 0, uint64_t);

/* §1.6, with the NC1HWC2 aliases. */
FACT(RKNN_QUERY_IN_OUT_NUM == 0);
FACT(RKNN_QUERY_INPUT_ATTR == 1);
FACT(RKNN_QUERY_OUTPUT_ATTR == 2);
FACT(RKNN_QUERY_PERF_DETAIL == 3);
FACT(RKNN_QUERY_PERF_RUN == 4);
FACT(RKNN_QUERY_SDK_VERSION == 5);
FACT(RKNN_QUERY_MEM_SIZE == 6);
FACT(RKNN_QUERY_CUSTOM_STRING == 7);
FACT(RKNN_QUERY_NATIVE_INPUT_ATTR == 8);
FACT(RKNN_QUERY_NATIVE_OUTPUT_ATTR == 9);
FACT(RKNN_QUERY_NATIVE_NC1HWC2_INPUT_ATTR == 8);
FACT(RKNN_QUERY_NATIVE_NC1HWC2_OUTPUT_ATTR == 9);
FACT(RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR == 10);
FACT(RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR == 11);
FACT(RKNN_QUERY_DEVICE_MEM_INFO == 12);
FACT(RKNN_QUERY_INPUT_DYNAMIC_RANGE == 13);
FACT(RKNN_QUERY_CURRENT_INPUT_ATTR == 14);
FACT(RKNN_QUERY_CURRENT_OUTPUT_ATTR == 15);
FACT(RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR == 16);
FACT(RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR == 17);
FACT(RKNN_QUERY_CMD_MAX == 18);
FACT(sizeof(rknn_query_cmd) == 4);

/* §1.7: plain int constants, as the SDK's bare hex literals. */
#define FLAG(name, v) FACT(name == (v)); FACT(EXPR_IS(name, int))
FLAG(RKNN_FLAG_PRIOR_HIGH, 0x00000000);
FLAG(RKNN_FLAG_PRIOR_MEDIUM, 0x00000001);
FLAG(RKNN_FLAG_PRIOR_LOW, 0x00000002);
FLAG(RKNN_FLAG_ASYNC_MASK, 0x00000004);
FLAG(RKNN_FLAG_COLLECT_PERF_MASK, 0x00000008);
FLAG(RKNN_FLAG_MEM_ALLOC_OUTSIDE, 0x00000010);
FLAG(RKNN_FLAG_SHARE_WEIGHT_MEM, 0x00000020);
FLAG(RKNN_FLAG_FENCE_IN_OUTSIDE, 0x00000040);
FLAG(RKNN_FLAG_FENCE_OUT_OUTSIDE, 0x00000080);
FLAG(RKNN_FLAG_COLLECT_MODEL_INFO_ONLY, 0x00000100);
FLAG(RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE, 0x00000200);
FLAG(RKNN_FLAG_EXECUTE_FALLBACK_PRIOR_DEVICE_GPU, 0x00000400);
FLAG(RKNN_FLAG_ENABLE_SRAM, 0x00000800);
FLAG(RKNN_FLAG_SHARE_SRAM, 0x00001000);
FLAG(RKNN_FLAG_DISABLE_PROC_HIGH_PRIORITY, 0x00002000);
FLAG(RKNN_FLAG_DISABLE_FLUSH_INPUT_MEM_CACHE, 0x00004000);
FLAG(RKNN_FLAG_DISABLE_FLUSH_OUTPUT_MEM_CACHE, 0x00008000);
FLAG(RKNN_FLAG_MODEL_BUFFER_ZERO_COPY, 0x00010000);
FLAG(RKNN_MEM_FLAG_ALLOC_NO_CONTEXT, 0x00020000);

/* §1.8 */
FLAG(RKNN_SUCC, 0);
FLAG(RKNN_ERR_FAIL, -1);
FLAG(RKNN_ERR_TIMEOUT, -2);
FLAG(RKNN_ERR_DEVICE_UNAVAILABLE, -3);
FLAG(RKNN_ERR_MALLOC_FAIL, -4);
FLAG(RKNN_ERR_PARAM_INVALID, -5);
FLAG(RKNN_ERR_MODEL_INVALID, -6);
FLAG(RKNN_ERR_CTX_INVALID, -7);
FLAG(RKNN_ERR_INPUT_INVALID, -8);
FLAG(RKNN_ERR_OUTPUT_INVALID, -9);
FLAG(RKNN_ERR_DEVICE_UNMATCH, -10);
FLAG(RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL, -11);
FLAG(RKNN_ERR_INCOMPATILE_OPTIMIZATION_LEVEL_VERSION, -12);
FLAG(RKNN_ERR_TARGET_PLATFORM_UNMATCH, -13);
FLAG(RKNN_MAX_DIMS, 16);
FLAG(RKNN_MAX_NUM_CHANNEL, 15);
FLAG(RKNN_MAX_NAME_LEN, 256);
FLAG(RKNN_MAX_DYNAMIC_SHAPE_NUM, 512);

#ifdef RKNN_ABI_SDK_EXTRAS
/* The SDK names its structs and enums (`typedef struct _rknn_tensor_memory
 * {...} rknn_tensor_mem;`), so `struct _rknn_tensor_memory *` is valid
 * client code. */
FACT(sizeof(struct _rknn_tensor_memory) == 40);
FACT(sizeof(struct _rknn_tensor_attr) == 376);
FACT(sizeof(struct _rknn_mem_size) == 64);
FACT(sizeof(struct _rknn_input) == 32);
FACT(sizeof(struct _rknn_output) == 24);
FACT(sizeof(struct _rknn_init_extend) == 136);
FACT(sizeof(enum _rknn_query_cmd) == 4);
FACT(sizeof(enum _rknn_mem_sync_mode) == 4);
/* rknn_input_range (RKNN_QUERY_INPUT_DYNAMIC_RANGE): index, shape_number,
 * fmt, name[256], dyn_range[512][16], n_dims. */
FACT(sizeof(rknn_input_range) == 33040);
FACT(offsetof(rknn_input_range, dyn_range) == 268);
FACT(offsetof(rknn_input_range, n_dims) == 33036);
#ifdef __cplusplus
/* Enumerators of rknn_query_cmd, so C++ can pass them to rknn_query. */
FACT(EXPR_IS(RKNN_QUERY_NATIVE_NC1HWC2_INPUT_ATTR, rknn_query_cmd));
FACT(EXPR_IS(RKNN_QUERY_NATIVE_NC1HWC2_OUTPUT_ATTR, rknn_query_cmd));
#endif
#endif

/* §1.9's prototypes as the reference writes them, redeclared after our
 * header: C rejects an incompatible redeclaration, C++ one whose types
 * differ at all. */
#ifdef __cplusplus
extern "C" {
#endif
int rknn_init(rknn_context* context, void* model, uint32_t size, uint32_t flag, rknn_init_extend* extend);
int rknn_dup_context(rknn_context* context_in, rknn_context* context_out);
int rknn_destroy(rknn_context context);
int rknn_query(rknn_context context, rknn_query_cmd cmd, void* info, uint32_t size);
int rknn_inputs_set(rknn_context context, uint32_t n_inputs, rknn_input inputs[]);
int rknn_set_batch_core_num(rknn_context context, int core_num);
int rknn_set_core_mask(rknn_context context, rknn_core_mask core_mask);
int rknn_run(rknn_context context, rknn_run_extend* extend);
int rknn_wait(rknn_context context, rknn_run_extend* extend);
int rknn_outputs_get(rknn_context context, uint32_t n_outputs, rknn_output outputs[], rknn_output_extend* extend);
int rknn_outputs_release(rknn_context context, uint32_t n_ouputs, rknn_output outputs[]);
rknn_tensor_mem* rknn_create_mem_from_phys(rknn_context ctx, uint64_t phys_addr, void *virt_addr, uint32_t size);
rknn_tensor_mem* rknn_create_mem_from_fd(rknn_context ctx, int32_t fd, void *virt_addr, uint32_t size, int32_t offset);
rknn_tensor_mem* rknn_create_mem_from_mb_blk(rknn_context ctx, void *mb_blk, int32_t offset);
rknn_tensor_mem* rknn_create_mem(rknn_context ctx, uint32_t size);
rknn_tensor_mem* rknn_create_mem2(rknn_context ctx, uint64_t size, uint64_t alloc_flags);
int rknn_destroy_mem(rknn_context ctx, rknn_tensor_mem *mem);
int rknn_set_weight_mem(rknn_context ctx, rknn_tensor_mem *mem);
int rknn_set_internal_mem(rknn_context ctx, rknn_tensor_mem *mem);
int rknn_set_io_mem(rknn_context ctx, rknn_tensor_mem *mem, rknn_tensor_attr *attr);
int rknn_set_input_shape(rknn_context ctx, rknn_tensor_attr* attr);
int rknn_set_input_shapes(rknn_context ctx, uint32_t n_inputs, rknn_tensor_attr attr[]);
int rknn_mem_sync(rknn_context context, rknn_tensor_mem* mem, rknn_mem_sync_mode mode);
#ifdef __cplusplus
}
#endif

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

int main(void)
{
    /* What the compile-time facts cannot see: the enum types take the
     * values the SDK stores in them, and the usual client comparisons
     * compile cleanly under -Wextra (sign-compare). */
    rknn_tensor_mem mem;
    rknn_tensor_attr attr;
    volatile int ret = RKNN_ERR_CTX_INVALID;
    memset(&mem, 0, sizeof mem);
    memset(&attr, 0, sizeof attr);
    mem.flags = RKNN_TENSOR_MEMORY_FLAGS_FROM_FD;
    mem.offset = -1;
    attr.fmt = RKNN_TENSOR_NC1HWC2;
    attr.type = RKNN_TENSOR_BFLOAT16;
    attr.qnt_type = RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC;
    attr.fl = -3;
    attr.h_stride = 0xFFFFFFFFu;
    expect(mem.flags == RKNN_TENSOR_MEMORY_FLAGS_FROM_FD, "mem.flags holds a tensor_mem_flags value");
    expect(mem.offset < 0, "offset is signed");
    expect(attr.fmt == 2 && attr.type == 11 && attr.qnt_type == 2, "attr enums round-trip");
    expect(attr.fl == -3, "fl is signed");
    expect(attr.h_stride == 0xFFFFFFFFu && attr.pass_through == 0, "h_stride does not overlap pass_through");
    expect(ret < RKNN_SUCC && ret != RKNN_ERR_FAIL, "error comparisons");
    expect((RKNN_FLAG_MEM_ALLOC_OUTSIDE | RKNN_FLAG_ENABLE_SRAM) == 0x810, "flags combine");
#ifdef RKNN_ABI_SDK_EXTRAS
    /* The SDK header's inline helpers, used by the model zoo's
     * dump_tensor_attr(). */
    expect(strcmp(get_type_string(RKNN_TENSOR_FLOAT16), "FP16") == 0, "get_type_string(FLOAT16)");
    expect(strcmp(get_type_string(RKNN_TENSOR_BFLOAT16), "BF16") == 0, "get_type_string(BFLOAT16)");
    expect(strcmp(get_qnt_type_string(RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC), "AFFINE") == 0, "get_qnt_type_string");
    expect(strcmp(get_format_string(RKNN_TENSOR_NC1HWC2), "NC1HWC2") == 0, "get_format_string");
#endif
    if (failures)
        return 1;
    printf("rknn_abi_facts: all facts hold (%s)\n",
#ifdef __cplusplus
           "C++"
#else
           "C"
#endif
    );
    return 0;
}
