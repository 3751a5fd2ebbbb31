//! What the emulated GPU says about itself: `cudaDeviceProp` and
//! `cudaDeviceGetAttribute`. Values describe the emulation honestly: an
//! integrated device sharing host memory, unified addressing, managed and
//! pool memory supported, copies done by the CPU (no copy engines, no
//! concurrent kernels: kernels are not run at all).

use super::driver_types::*;
use super::Gpu;
use std::ffi::{c_char, c_int};

/// Largest pitch a copy or fill accepts (`memPitch`).
pub(crate) const MEM_PITCH: usize = i32::MAX as usize;

/// `sizeof(struct cudaDeviceProp)` in CUDA 11 headers.
pub(crate) const CUDA11_PROP_SIZE: usize = 728;

/// The device's properties.
pub(crate) fn properties(g: &Gpu) -> cudaDeviceProp {
    // SAFETY: cudaDeviceProp is plain old data; all-zero is a valid value.
    let mut p: cudaDeviceProp = unsafe { std::mem::zeroed() };
    let name = format!("accelmem emulated GPU {} (no kernels)", g.ordinal);
    for (d, s) in p.name.iter_mut().zip(name.bytes().take(255)) {
        *d = s as c_char;
    }
    // A stable UUID per device name: two independent FNV-1a hashes.
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in g.dev.name().bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let bytes = [fnv(0xcbf2_9ce4_8422_2325).to_be_bytes(), fnv(0x6c62_272e_07bb_0142).to_be_bytes()].concat();
    for (d, b) in p.uuid.bytes.iter_mut().zip(bytes) {
        *d = b as c_char;
    }
    p.totalGlobalMem = g.vram as usize;
    p.sharedMemPerBlock = 48 << 10;
    p.regsPerBlock = 65536;
    p.warpSize = 32;
    p.memPitch = MEM_PITCH;
    p.maxThreadsPerBlock = 1024;
    p.maxThreadsDim = [1024, 1024, 64];
    p.maxGridSize = [i32::MAX, 65535, 65535];
    p.clockRate = 1_000_000;
    p.totalConstMem = 64 << 10;
    p.major = 8;
    p.minor = 0;
    p.textureAlignment = 512;
    p.texturePitchAlignment = 32;
    p.deviceOverlap = 0;
    p.multiProcessorCount = 1;
    p.kernelExecTimeoutEnabled = 0;
    p.integrated = 1;
    p.canMapHostMemory = 1;
    p.computeMode = 0;
    p.surfaceAlignment = 512;
    p.concurrentKernels = 0;
    p.ECCEnabled = 0;
    p.pciBusID = 0;
    p.pciDeviceID = g.ordinal;
    p.pciDomainID = 0;
    p.tccDriver = 0;
    p.asyncEngineCount = 0;
    p.unifiedAddressing = 1;
    p.memoryClockRate = 0;
    p.memoryBusWidth = 64;
    p.l2CacheSize = 0;
    p.persistingL2CacheMaxSize = 0;
    p.maxThreadsPerMultiProcessor = 2048;
    p.streamPrioritiesSupported = 0;
    p.globalL1CacheSupported = 1;
    p.localL1CacheSupported = 1;
    p.sharedMemPerMultiprocessor = 64 << 10;
    p.regsPerMultiprocessor = 65536;
    p.managedMemory = 1;
    p.isMultiGpuBoard = 0;
    p.multiGpuBoardGroupID = g.ordinal;
    p.hostNativeAtomicSupported = 1;
    p.singleToDoublePrecisionPerfRatio = 1;
    p.pageableMemoryAccess = 0;
    p.concurrentManagedAccess = 1;
    p.computePreemptionSupported = 0;
    p.canUseHostPointerForRegisteredMem = 1;
    p.cooperativeLaunch = 0;
    p.cooperativeMultiDeviceLaunch = 0;
    p.sharedMemPerBlockOptin = 48 << 10;
    p.pageableMemoryAccessUsesHostPageTables = 0;
    p.directManagedMemAccessFromHost = 1;
    p.maxBlocksPerMultiProcessor = 32;
    p.accessPolicyMaxWindowSize = 0;
    p.reservedSharedMemPerBlock = 0;
    p.hostRegisterSupported = 1;
    p.sparseCudaArraySupported = 0;
    p.hostRegisterReadOnlySupported = 1;
    p.timelineSemaphoreInteropSupported = 0;
    p.memoryPoolsSupported = 1;
    p.gpuDirectRDMASupported = 0;
    p.gpuDirectRDMAFlushWritesOptions = 0;
    p.gpuDirectRDMAWritesOrdering = 0;
    p.memoryPoolSupportedHandleTypes = 0;
    p.deferredMappingCudaArraySupported = 0;
    p.ipcEventSupported = 0;
    p.clusterLaunch = 0;
    p.unifiedFunctionPointers = 0;
    p
}

/// `cudaDeviceGetAttribute`: every attribute that has a `cudaDeviceProp`
/// field, and the pool ones.
pub(crate) fn attribute(g: &Gpu, attr: u32) -> Option<c_int> {
    let p = properties(g);
    let kib = |v: usize| c_int::try_from(v).unwrap_or(c_int::MAX);
    Some(match attr {
        1 => p.maxThreadsPerBlock,
        2..=4 => p.maxThreadsDim[attr as usize - 2],
        5..=7 => p.maxGridSize[attr as usize - 5],
        8 => kib(p.sharedMemPerBlock),
        9 => kib(p.totalConstMem),
        10 => p.warpSize,
        11 => kib(p.memPitch),
        12 => p.regsPerBlock,
        13 => p.clockRate,
        14 => kib(p.textureAlignment),
        15 => p.deviceOverlap,
        16 => p.multiProcessorCount,
        17 => p.kernelExecTimeoutEnabled,
        18 => p.integrated,
        19 => p.canMapHostMemory,
        20 => p.computeMode,
        30 => kib(p.surfaceAlignment),
        31 => p.concurrentKernels,
        32 => p.ECCEnabled,
        33 => p.pciBusID,
        34 => p.pciDeviceID,
        35 => p.tccDriver,
        36 => p.memoryClockRate,
        37 => p.memoryBusWidth,
        38 => p.l2CacheSize,
        39 => p.maxThreadsPerMultiProcessor,
        40 => p.asyncEngineCount,
        41 => p.unifiedAddressing,
        50 => p.pciDomainID,
        51 => kib(p.texturePitchAlignment),
        75 => p.major,
        76 => p.minor,
        78 => p.streamPrioritiesSupported,
        79 => p.globalL1CacheSupported,
        80 => p.localL1CacheSupported,
        81 => kib(p.sharedMemPerMultiprocessor),
        82 => p.regsPerMultiprocessor,
        83 => p.managedMemory,
        84 => p.isMultiGpuBoard,
        85 => p.multiGpuBoardGroupID,
        86 => p.hostNativeAtomicSupported,
        87 => p.singleToDoublePrecisionPerfRatio,
        88 => p.pageableMemoryAccess,
        89 => p.concurrentManagedAccess,
        90 => p.computePreemptionSupported,
        91 => p.canUseHostPointerForRegisteredMem,
        95 => p.cooperativeLaunch,
        96 => p.cooperativeMultiDeviceLaunch,
        97 => kib(p.sharedMemPerBlockOptin),
        98 => 0,
        99 => p.hostRegisterSupported,
        100 => p.pageableMemoryAccessUsesHostPageTables,
        101 => p.directManagedMemAccessFromHost,
        106 => p.maxBlocksPerMultiProcessor,
        108 => p.persistingL2CacheMaxSize,
        109 => p.accessPolicyMaxWindowSize,
        111 => kib(p.reservedSharedMemPerBlock),
        112 => p.sparseCudaArraySupported,
        113 => p.hostRegisterReadOnlySupported,
        114 => p.timelineSemaphoreInteropSupported,
        115 => p.memoryPoolsSupported,
        116 => p.gpuDirectRDMASupported,
        117 => p.gpuDirectRDMAFlushWritesOptions as c_int,
        118 => p.gpuDirectRDMAWritesOrdering,
        119 => p.memoryPoolSupportedHandleTypes as c_int,
        120 => p.clusterLaunch,
        121 => p.deferredMappingCudaArraySupported,
        125 => p.ipcEventSupported,
        _ => return None,
    })
}
