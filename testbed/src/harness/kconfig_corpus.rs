//! Shared by the kconfig tests and bench: the fixture corpus, and a generator of files
//! built from the constructs KConfig treats specially.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::select;

/// tests/fixtures/kconfig, or BALLAST_KCONFIG_FIXTURES for a test binary run elsewhere (the
/// real-desktop suite runs the peer tests in its Plasma 6 guest).
pub fn fixture_dir() -> PathBuf {
    std::env::var_os("BALLAST_KCONFIG_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::harness::repository().join("tests/fixtures/kconfig"))
}

/// The KDE tool `name` of the generation under test: kreadconfig5, or kreadconfig6 with
/// BALLAST_KCONFIG_PEER=6.
pub fn tool(name: &str) -> String {
    let generation = std::env::var("BALLAST_KCONFIG_PEER").unwrap_or_else(|_| "5".into());
    format!("{name}{generation}")
}

/// The KConfig whose reading is under test, as [`tool`] names it.
pub fn generation() -> ballast::kconfig::Generation {
    match tool("").as_str() {
        "6" => ballast::kconfig::Generation::Kf6,
        _ => ballast::kconfig::Generation::Kf5,
    }
}

/// Every file directly under the corpus directory, by name, sorted (the cascade cases in its subdirectories have their
/// own test, tests/kconfig_cascade.rs).
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = fixture_dir();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.expect("fixture directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().expect("fixture file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("reading {name}: {error}"));
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Key spellings, escapes included; few enough that keys repeat.
#[rustfmt::skip]
const KEYS: &[&str] = &[
    "k", "k", "key", "Name", "a b", "\\sk", "k\\s", "a\\\\sb", "x\\x41", "k\\q", "\\\\", "k;x",
    "#k", "\u{e9}t\u{e9}", "\\x23k", " k ", "k\r",
];

/// Option and locale brackets after a key.
#[rustfmt::skip]
const KEY_SUFFIXES: &[&str] = &[
    "", "", "", "[$e]", "[$i]", "[$d]", "[$ie]", "[$x]", "[$]", "[de]", "[de_DE]", "[C]", "[]",
    "[$e][de]", "[de][$e]", "[$d][de]", "[de][$d]", "[de][fr]", "[", "[x]y", " [de]",
];

/// Pieces of values: escapes, `$` forms, odd bytes.
#[rustfmt::skip]
const VALUE_PIECES: &[&[u8]] = &[
    b"v", b"value", b" ", b"\t", b"\\s", b"\\t", b"\\n", b"\\r", b"\\\\", b"\\;", b"\\,", b"\\q",
    b"\\x41", b"\\xzz", b"\\x4", b"\\", b"$HOME", b"${HOME}", b"$BALLAST_TEST_VAR",
    b"${BALLAST_TEST_VAR}", b"$$", b"$(echo hi)", b"$", b"${", b"${}", b"$UNSET_VAR", b"=", b"[",
    b"]", b"#", b"\xc3\xa9", b"\xff", b"\xe2\x82", b"\xef\xbb\xbf", b"\x0b", b"/", b"\r",
];

#[rustfmt::skip]
const GROUP_PARTS: &[&str] = &[
    "A", "B", "General", "Group", " sp ", "A\\x5dB", "$i", "", "x\\sy", "<default>", "\\q", "A\r",
];

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    select(options).prop_map(|text| text.as_bytes().to_vec())
}

fn blanks() -> impl Strategy<Value = Vec<u8>> {
    pick(&["", "", " ", "\t", "  "])
}

fn entry_line() -> impl Strategy<Value = Vec<u8>> {
    let value = prop::collection::vec(select(VALUE_PIECES), 0..5).prop_map(|pieces| pieces.concat());
    (blanks(), pick(KEYS), pick(KEY_SUFFIXES), blanks(), any::<bool>(), blanks(), value, blanks()).prop_map(
        |(indent, key, suffix, before_eq, has_eq, after_eq, value, trailing)| {
            let mut line = [indent, key, suffix, before_eq].concat();
            if has_eq {
                line.push(b'=');
            }
            [line, after_eq, value, trailing].concat()
        },
    )
}

fn header_line() -> impl Strategy<Value = Vec<u8>> {
    let parts = prop::collection::vec(pick(GROUP_PARTS), 1..4);
    let ending = pick(&["]", "]", "]", "][$i]", "", "][", "]junk", "] [B]"]);
    (blanks(), parts, ending).prop_map(|(indent, parts, ending)| {
        let mut line = indent;
        line.push(b'[');
        line.extend(parts.join(&b"]["[..]));
        line.extend(ending);
        line
    })
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => entry_line(),
        3 => header_line(),
        1 => pick(&["# comment", "  #k=commented", ";k=1", "[$i]", "\u{feff}[A]", "=v", "k"]),
        1 => blanks(),
        1 => prop::collection::vec(any::<u8>().prop_filter("one line", |&byte| byte != b'\n'), 0..8),
    ]
}

/// A file of KConfig-like lines, LF or CRLF, with or without a final newline.
pub fn kconfig_file() -> impl Strategy<Value = Vec<u8>> {
    let lines = prop::collection::vec((line(), pick(&["\n", "\n", "\r\n"])), 0..24);
    (lines, any::<bool>()).prop_map(|(lines, final_newline)| {
        let mut file: Vec<u8> = lines.into_iter().flat_map(|(line, ending)| [line, ending].concat()).collect();
        if !final_newline && file.last() == Some(&b'\n') {
            file.pop();
        }
        file
    })
}
