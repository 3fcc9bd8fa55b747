#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator settings for a process that frees and reallocates frame-sized buffers
/// (up to 1 MiB) thousands of times a second.
///
/// By default glibc returns the top of its heap to the kernel whenever 128 KiB of it is free, and
/// serves blocks from 128 KiB up (adaptively higher) with `mmap`; every such block then costs page
/// faults and zeroed pages when it is touched again. In the loopback benchmark that was 6-8% of
/// the receiving end's CPU (`exc_page_fault`, `clear_page_erms`). Keeping up to 8 MiB of free heap
/// and serving blocks below 2 MiB from the heap lets freed frame buffers be reused as they are
/// (CPU per GiB 10-20% lower with 64 KiB payloads); the receiving end's peak resident size stayed
/// within 2 MiB of what it was (47 MiB in `--mode bulk`; keeping 32 MiB cost 10 MiB more for no
/// further gain). `MALLOC_TRIM_THRESHOLD_` and `MALLOC_MMAP_THRESHOLD_` in the environment win.
enum MallocTuning {
    /// `mallopt`'s parameter numbers from glibc's `<malloc.h>` (stable ABI; Swift's Glibc module
    /// does not import that header).
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD

    static func apply() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // Looked up rather than declared, so a libc without it (musl) just keeps its defaults.
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        if getenv("MALLOC_TRIM_THRESHOLD_") == nil { _ = mallopt(Self.trimThreshold, 8 << 20) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(Self.mmapThreshold, 2 << 20) }
        #endif
    }
}
