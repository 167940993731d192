//! /proc/meminfo.

use super::Malformed;
use serde::Serialize;

/// The /proc/meminfo fields the budget needs, in bytes. Fields a kernel does not
/// report (older kernels lack SecPageTables, for one) read as 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemInfo {
    /// /proc/meminfo's MemTotal.
    pub total: u64,
    /// /proc/meminfo's MemFree.
    pub free: u64,
    /// /proc/meminfo's MemAvailable; free + cache on kernels before 3.14, which lack it.
    pub available: u64,
    /// /proc/meminfo's Buffers.
    pub buffers: u64,
    /// /proc/meminfo's Cached.
    pub cached: u64,
    /// /proc/meminfo's Shmem.
    pub shmem: u64,
    /// /proc/meminfo's SReclaimable.
    pub s_reclaimable: u64,
    /// /proc/meminfo's SUnreclaim.
    pub s_unreclaim: u64,
    /// /proc/meminfo's KernelStack.
    pub kernel_stack: u64,
    /// /proc/meminfo's PageTables.
    pub page_tables: u64,
    /// /proc/meminfo's SecPageTables.
    pub sec_page_tables: u64,
    /// /proc/meminfo's Percpu.
    pub percpu: u64,
    /// /proc/meminfo's VmallocUsed.
    pub vmalloc_used: u64,
    /// /proc/meminfo's SwapTotal.
    pub swap_total: u64,
    /// /proc/meminfo's SwapFree.
    pub swap_free: u64,
}

impl MemInfo {
    /// Memory the kernel keeps for itself and cannot give back.
    pub fn kernel(&self) -> u64 {
        self.s_unreclaim + self.kernel_stack + self.page_tables + self.sec_page_tables + self.percpu + self.vmalloc_used
    }

    /// Reclaimable cache: buffers, page cache without shmem (tmpfs, shared memory are not
    /// reclaimable), and reclaimable slab.
    pub fn cache(&self) -> u64 {
        (self.buffers + self.cached).saturating_sub(self.shmem) + self.s_reclaimable
    }

    /// In use, as `free` (procps-ng 4) counts it: total - available, the kernel's own
    /// estimate of what cannot be had back without swapping.
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }
}

/// Parses /proc/meminfo (`Key: value kB` lines) into bytes; MemTotal and MemFree are required.
pub fn parse(text: &str) -> Result<MemInfo, Malformed> {
    let mut info = MemInfo::default();
    let (mut seen_total, mut seen_free) = (false, false);
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| Malformed::at(index + 1, format!("{reason}: {line:?}"));
        let (key, rest) = line.split_once(':').ok_or_else(|| bad("expected `Key: value kB`"))?;
        let mut words = rest.split_whitespace();
        let value: u64 = words.next().and_then(|v| v.parse().ok()).ok_or_else(|| bad("expected a number"))?;
        let bytes = match words.next() {
            Some("kB") => value.checked_mul(1024).ok_or_else(|| bad("value too large"))?,
            _ => value,
        };
        let slot = match key {
            "MemTotal" => {
                seen_total = true;
                &mut info.total
            }
            "MemFree" => {
                seen_free = true;
                &mut info.free
            }
            "MemAvailable" => &mut info.available,
            "Buffers" => &mut info.buffers,
            "Cached" => &mut info.cached,
            "Shmem" => &mut info.shmem,
            "SReclaimable" => &mut info.s_reclaimable,
            "SUnreclaim" => &mut info.s_unreclaim,
            "KernelStack" => &mut info.kernel_stack,
            "PageTables" => &mut info.page_tables,
            "SecPageTables" => &mut info.sec_page_tables,
            "Percpu" => &mut info.percpu,
            "VmallocUsed" => &mut info.vmalloc_used,
            "SwapTotal" => &mut info.swap_total,
            "SwapFree" => &mut info.swap_free,
            _ => continue,
        };
        *slot = bytes;
    }
    if !(seen_total && seen_free) {
        return Err(Malformed::at(0, "MemTotal and MemFree are missing"));
    }
    if info.available == 0 {
        // Kernels before 3.14 lack MemAvailable; free + cache is the old estimate.
        info.available = info.free + info.cache();
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "MemTotal:       16303736 kB\nMemFree:         1000000 kB\nMemAvailable:    9000000 kB\nBuffers:          200000 kB\nCached:          6000000 kB\nSwapCached:            0 kB\nShmem:            500000 kB\nSReclaimable:     300000 kB\nSUnreclaim:       100000 kB\nKernelStack:       20000 kB\nPageTables:        60000 kB\nPercpu:             8000 kB\nVmallocUsed:       40000 kB\nSwapTotal:      12227800 kB\nSwapFree:       11000000 kB\nHugePages_Total:       0\n";

    #[test]
    fn derives_kernel_cache_and_used_like_free() {
        let m = parse(SAMPLE).unwrap();
        let kib = |k: u64| k * 1024;
        assert_eq!(m.total, kib(16303736));
        assert_eq!(m.kernel(), kib(100000 + 20000 + 60000 + 8000 + 40000));
        assert_eq!(m.cache(), kib(200000 + 6000000 - 500000 + 300000));
        assert_eq!(m.used(), kib(16303736 - 9000000));
    }

    #[test]
    fn malformed_line_is_named() {
        let err = parse("MemTotal: 1 kB\nMemFree: lots kB\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.reason.contains("expected a number"), "{}", err.reason);
        assert!(parse("Cached: 5 kB\n").unwrap_err().reason.contains("MemTotal"));
    }

    #[test]
    fn missing_memavailable_is_estimated() {
        let m = parse("MemTotal: 100 kB\nMemFree: 10 kB\nCached: 20 kB\n").unwrap();
        assert_eq!(m.available, 30 * 1024);
    }
}
