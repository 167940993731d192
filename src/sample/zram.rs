//! zram devices (/sys/block/zram*) and active swap areas (/proc/swaps).

use super::Malformed;
use serde::{Deserialize, Serialize};

/// One zram block device, /sys/block/zramN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZramDevice {
    /// Device name, e.g. "zram0".
    pub name: String,
    /// Configured size (uncompressed); 0 means the device exists but is not set up.
    pub disksize: u64,
    /// Active compression algorithm (comp_algorithm's bracketed one); None when unreadable.
    pub algorithm: Option<String>,
    /// mm_stat figures; all 0 when the device is not set up.
    pub mm: MmStat,
}

/// The first fields of /sys/block/zramN/mm_stat, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmStat {
    /// Uncompressed size of the data stored.
    pub orig_data: u64,
    /// Compressed size of that data.
    pub compr_data: u64,
    /// RAM the device really uses, allocator overhead included.
    pub mem_used: u64,
}

/// One active swap area: a line of /proc/swaps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapArea {
    /// Device or file path, with `\040` read back as a space.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Bytes in use.
    pub used: u64,
    /// Swap priority: higher is used first; negative when the kernel assigned it.
    pub priority: i32,
}

/// Parses /sys/block/zramN/mm_stat, keeping its first three fields (kernel doc:
/// Documentation/admin-guide/blockdev/zram.rst).
pub fn parse_mm_stat(text: &str) -> Result<MmStat, Malformed> {
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|w| w.parse().map_err(|_| Malformed::at(1, format!("expected numbers, found {w:?}"))))
        .collect::<Result<_, _>>()?;
    match fields[..] {
        [orig_data, compr_data, mem_used, ..] => Ok(MmStat { orig_data, compr_data, mem_used }),
        _ => Err(Malformed::at(1, "expected at least orig_data_size compr_data_size mem_used_total")),
    }
}

/// The active algorithm is the one in brackets: `lzo lzo-rle lz4 [zstd]`.
pub fn parse_comp_algorithm(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']'))).map(str::to_owned)
}

/// Parses /proc/swaps (a header line, then `Filename Type Size Used Priority`, sizes in KiB) into bytes.
pub fn parse_swaps(text: &str) -> Result<Vec<SwapArea>, Malformed> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad =
                || Malformed::at(index + 1, format!("expected `Filename Type Size Used Priority`, found {line:?}"));
            match words[..] {
                [path, _kind, size, used, priority] => Ok(SwapArea {
                    // The kernel escapes spaces in paths as \040.
                    path: path.replace("\\040", " "),
                    size: size.parse::<u64>().map_err(|_| bad())? * 1024,
                    used: used.parse::<u64>().map_err(|_| bad())? * 1024,
                    priority: priority.parse().map_err(|_| bad())?,
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mm_stat_takes_the_first_three_fields() {
        let mm =
            parse_mm_stat("1288490188 322122547 335544320        0 402653184    12345     0      0      0\n").unwrap();
        assert_eq!(mm, MmStat { orig_data: 1288490188, compr_data: 322122547, mem_used: 335544320 });
        assert!(parse_mm_stat("").is_err());
        assert!(parse_mm_stat("1 2 x").is_err());
    }

    #[test]
    fn active_algorithm_is_bracketed() {
        assert_eq!(parse_comp_algorithm("lzo lzo-rle lz4 [zstd]\n").as_deref(), Some("zstd"));
        assert_eq!(parse_comp_algorithm("[lzo-rle] lzo lz4 \n").as_deref(), Some("lzo-rle"));
        assert_eq!(parse_comp_algorithm("lzo lz4"), None);
    }

    #[test]
    fn swaps_in_bytes_with_priority() {
        let swaps = parse_swaps("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/zram0                              partition\t12227580\t1048576\t\t100\n/swap\\040file file 1024 0 -2\n").unwrap();
        assert_eq!(swaps.len(), 2);
        assert_eq!(
            swaps[0],
            SwapArea { path: "/dev/zram0".into(), size: 12227580 * 1024, used: 1 << 30, priority: 100 }
        );
        assert_eq!(swaps[1].path, "/swap file");
        assert_eq!(swaps[1].priority, -2);
        assert!(parse_swaps("Filename\n/dev/zram0 partition x 0 100\n").is_err());
        assert!(parse_swaps("Filename\tType\tSize\tUsed\tPriority\n").unwrap().is_empty());
    }
}
