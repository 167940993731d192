//! Random input to every parser: an error or a value, never a panic.

use ballast::profile::{ByteSize, CpuQuota, Origin, Profile};
use ballast::sample::{cgroup, meminfo, pressure, process, zram, Sampler};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        // Text that looks like kernel files: keys, numbers, separators, odd bytes.
        proptest::string::string_regex(r"([A-Za-z_()\[\]=:. 0-9-]{0,12}( |\t|:|=|\n)){0,40}").unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn proc_parsers_never_panic(input in text()) {
        let _ = meminfo::parse(&input);
        let _ = pressure::parse(&input);
        let _ = zram::parse_mm_stat(&input);
        let _ = zram::parse_comp_algorithm(&input);
        let _ = zram::parse_swaps(&input);
        let _ = process::parse_stat(&input);
        let _ = process::parse_cmdline_argv0(input.as_bytes());
        let _ = process::parse_cgroup(&input);
        let _ = process::parse_smaps_rollup(&input);
        let _ = cgroup::parse_limit(&input);
        let _ = cgroup::parse_current(&input);
        let _ = cgroup::parse_events(&input);
        let _ = cgroup::parse_keyed(&input, ["file", "shmem"]);
    }

    #[test]
    fn profile_parsers_never_panic(input in text()) {
        let _ = ByteSize::parse(&input);
        let _ = CpuQuota::parse(&input);
        let _ = Profile::from_overlay(&input, &Origin::Embedded);
    }

    #[test]
    fn sizes_round_trip(bytes in any::<u64>()) {
        let printed = ByteSize(bytes).to_string();
        prop_assert_eq!(ByteSize::parse(&printed), Ok(ByteSize(bytes)));
    }

    #[test]
    fn meminfo_reads_back_what_it_was_given(total in 1u64..1 << 40, free in 0u64..1 << 40) {
        let text = format!("MemTotal: {total} kB\nMemFree: {free} kB\nMemAvailable: {free} kB\n");
        let info = meminfo::parse(&text).unwrap();
        prop_assert_eq!((info.total, info.free), (total * 1024, free * 1024));
    }

    /// A whole tree of garbage files: the sampler reports problems, never panics.
    #[test]
    fn sampler_survives_garbage_trees(files in proptest::collection::vec(any::<Vec<u8>>(), 12)) {
        let root = tempfile::tempdir().unwrap();
        let names = [
            "proc/meminfo", "proc/stat", "proc/swaps", "proc/pressure/memory", "proc/pressure/cpu",
            "proc/pressure/io", "proc/42/stat", "proc/42/cgroup", "proc/42/smaps_rollup",
            "sys/block/zram0/disksize", "sys/block/zram0/mm_stat", "proc/42/cmdline",
        ];
        for (name, bytes) in names.iter().zip(&files) {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let _ = Sampler::with_root(root.path()).sample();
    }
}
