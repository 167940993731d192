//! Our reads and edits checked against KDE's own kreadconfig5 and kwriteconfig5
//! (Debian/Ubuntu package libkf5config-bin). With BALLAST_KCONFIG_PEER=6 the same checks run
//! against kreadconfig6 and kwriteconfig6 (KF6: libkf6config-bin); the real-desktop suite runs
//! this binary that way in a chroot of its Plasma 6 guest's file tree, with
//! BALLAST_KCONFIG_FIXTURES pointing at a copy of the corpus.

use testbed::harness::kconfig_corpus as kconfig_support;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ballast::kconfig::{Document, Entry, DEFAULT_GROUP, GROUP_SEPARATOR};
use kconfig_support::{fixtures, generation, kconfig_file, tool};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// What `--default` prints, to tell a missing key from an empty one.
const MISSING: &str = "\u{1}no such key\u{1}";

/// Files with at most this many lines get every key name checked in every group,
/// which catches keys we think absent but KConfig reads.
const CROSS_CHECK_MAX_LINES: usize = 80;

/// kreadconfig5 and kwriteconfig5 in a private HOME under `LC_ALL=C`, so neither the
/// user's files nor their locale play a part. Our reads expand `$VAR` from the same
/// environment.
struct Peer {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Peer {
    /// `None` when kreadconfig5 is missing and BALLAST_SKIP_PEER=1.
    fn start() -> Option<Self> {
        if let Err(error) = Command::new(tool("kreadconfig")).arg("--help").output() {
            if std::env::var("BALLAST_SKIP_PEER").as_deref() == Ok("1") {
                eprintln!("skipped: {} cannot run ({error}) and BALLAST_SKIP_PEER=1", tool("kreadconfig"));
                return None;
            }
            panic!(
                "{} cannot run ({error}): install libkf5config-bin \
                 (apt-get install libkf5config-bin), or set BALLAST_SKIP_PEER=1 to skip",
                tool("kreadconfig")
            );
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".config")).expect("private config directory");
        let home = home.to_str().expect("UTF-8 temporary path").to_owned();
        let env = [
            ("HOME", home.clone()),
            ("XDG_CONFIG_HOME", format!("{home}/.config")),
            ("XDG_DATA_HOME", format!("{home}/.local/share")),
            ("XDG_CACHE_HOME", format!("{home}/.cache")),
            ("XDG_CONFIG_DIRS", format!("{home}/no-system-config")),
            ("LC_ALL", "C".to_owned()),
            ("LANG", "C".to_owned()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("BALLAST_TEST_VAR", "from env".to_owned()),
        ];
        let env = env.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        Some(Self { dir, env })
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.env.iter().find(|(known, _)| known == name).map(|(_, value)| value.clone())
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("writing a test file");
        path
    }

    /// What kreadconfig5 prints for the key, without the newline; `None` if it has none.
    fn read(&self, file: &Path, group: &[u8], key: &[u8]) -> Option<Vec<u8>> {
        let mut command = self.command(&tool("kreadconfig"));
        command.arg("--file").arg(file);
        for part in group_arguments(group) {
            command.arg("--group").arg(OsStr::from_bytes(part));
        }
        command.arg("--key").arg(OsStr::from_bytes(key)).args(["--default", MISSING]);
        let output = command.output().expect("running kreadconfig5");
        assert!(output.status.success(), "kreadconfig5 failed: {output:?}");
        let mut printed = output.stdout;
        assert_eq!(printed.pop(), Some(b'\n'), "kreadconfig5 ends its output with a newline");
        (printed != MISSING.as_bytes()).then_some(printed)
    }

    /// What kreadconfig5 prints for an entry: its value as QString::fromUtf8 makes it
    /// (a leading BOM goes, each invalid byte becomes U+FFFD), `$`-expanded for `[$e]`,
    /// printed with `%s` (which stops at NUL).
    fn printed(&self, entry: &Entry) -> Vec<u8> {
        let value = entry.value.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&entry.value);
        let entry = Entry { value: Cow::Borrowed(value), ..entry.clone() };
        let mut text = String::new();
        for chunk in entry.expanded(|name| self.lookup(name)).utf8_chunks() {
            text.push_str(chunk.valid());
            text.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
        }
        text.split('\0').next().unwrap_or_default().as_bytes().to_vec()
    }

    /// What our model says kreadconfig5 prints.
    fn expected(&self, document: &Document, group: &[u8], key: &[u8]) -> Option<Vec<u8>> {
        document.get_localized(group, key, "C").map(|entry| self.printed(&entry))
    }

    /// Every queryable key of the file where our read and kreadconfig5's differ.
    fn mismatches(&self, name: &str, bytes: &[u8]) -> Vec<String> {
        let document = Document::parse_as(bytes, generation());
        let file = self.write(name, bytes);
        candidates(&document, bytes)
            .into_iter()
            .filter_map(|(group, key)| {
                let ours = self.expected(&document, &group, &key);
                let theirs = self.read(&file, &group, &key);
                (ours != theirs).then(|| mismatch(name, &group, &key, ours, theirs))
            })
            .collect()
    }
}

/// `A\x1dB` as `--group A --group B`, unless a part is empty (kreadconfig5 refuses
/// those, but takes the joined name whole).
fn group_arguments(group: &[u8]) -> Vec<&[u8]> {
    let parts: Vec<&[u8]> = group.split(|&byte| byte == GROUP_SEPARATOR).collect();
    if parts.iter().any(|part| part.is_empty()) {
        vec![group]
    } else {
        parts
    }
}

/// Names kreadconfig5 can be asked for: its arguments arrive as UTF-8 text without NUL,
/// with a leading BOM dropped, and neither may be empty.
fn queryable(name: &[u8]) -> bool {
    std::str::from_utf8(name)
        .is_ok_and(|text| !text.is_empty() && !text.contains('\0') && !text.starts_with('\u{feff}'))
}

/// The (group, key) pairs to compare: each group's keys, and in small files every key
/// name written anywhere (translated, deleted or refused ones too) in every group.
fn candidates(document: &Document, bytes: &[u8]) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    let mut groups: BTreeSet<&[u8]> = document.groups().into_iter().collect();
    groups.insert(DEFAULT_GROUP.as_bytes());
    let written_names: BTreeSet<&[u8]> = if bytes.split(|&byte| byte == b'\n').count() <= CROSS_CHECK_MAX_LINES {
        bytes.split(|&byte| byte == b'\n').filter_map(written_key_name).collect()
    } else {
        BTreeSet::new()
    };
    let mut pairs = BTreeSet::new();
    for group in groups.into_iter().filter(|group| queryable(group)) {
        for key in document.keys(group).into_iter().chain(written_names.iter().copied()) {
            if queryable(key) {
                pairs.insert((group.to_vec(), key.to_vec()));
            }
        }
    }
    pairs
}

/// A rough key name for a line (`name[..]... = ...`), escapes left as written.
fn written_key_name(line: &[u8]) -> Option<&[u8]> {
    let before_equals = line.split(|&byte| byte == b'=').next()?;
    let name = before_equals.split(|&byte| byte == b'[').next()?;
    let name = name.trim_ascii();
    (!name.is_empty() && !name.starts_with(b"#")).then_some(name)
}

fn mismatch(file: &str, group: &[u8], key: &[u8], ours: Option<Vec<u8>>, theirs: Option<Vec<u8>>) -> String {
    let show = |value: Option<Vec<u8>>| value.map(|value| String::from_utf8_lossy(&value).into_owned());
    format!(
        "{file} [{}] {:?}: ours {:?}, {} {:?}",
        String::from_utf8_lossy(group).replace(GROUP_SEPARATOR as char, "]["),
        String::from_utf8_lossy(key),
        show(ours),
        tool("kreadconfig"),
        show(theirs),
    )
}

fn assert_no_mismatches(mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} reads differ from {}:\n{}",
        mismatches.len(),
        tool("kreadconfig"),
        mismatches.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_fixture_key_reads_like_kreadconfig5() {
    let Some(peer) = Peer::start() else { return };
    let mut mismatches = Vec::new();
    let mut compared_files = 0;
    for (name, bytes) in fixtures() {
        mismatches.extend(peer.mismatches(&name, &bytes));
        compared_files += 1;
    }
    assert!(compared_files >= 15, "the corpus lost files: {compared_files}");
    assert_no_mismatches(&mismatches);
}

#[test]
fn generated_files_read_like_kreadconfig5() {
    let Some(peer) = Peer::start() else { return };
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    // A fixed seed: a failure here names a reproducible file, not a lucky draw.
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&kconfig_file(), |bytes| {
        let mismatches = peer.mismatches("generated.rc", &bytes);
        proptest::prop_assert!(
            mismatches.is_empty(),
            "file {:?}\n{}",
            String::from_utf8_lossy(&bytes),
            mismatches.join("\n")
        );
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// One change of the edit test: `expandable` uses `set_expandable`.
struct Edit {
    group: Vec<u8>,
    key: Vec<u8>,
    value: Vec<u8>,
    expandable: bool,
}

impl Edit {
    fn new(group: &[u8], key: &[u8], value: &str, expandable: bool) -> Self {
        Self { group: group.to_vec(), key: key.to_vec(), value: value.as_bytes().to_vec(), expandable }
    }
}

/// Changes a tool would make: existing keys in the first, a middle and the last group,
/// a key added to the first group, a new group, a new nested group, an `[$e]` path.
fn planned_edits(document: &Document) -> Vec<Edit> {
    let groups: Vec<&[u8]> = document.groups();
    let mut edits = Vec::new();
    if let (Some(first), Some(last)) = (groups.first(), groups.last()) {
        for group in [*first, groups[groups.len() / 2], *last] {
            // A key shadowed by `key[]` would not show the edit in kreadconfig5.
            let unshadowed = document
                .keys(group)
                .into_iter()
                .rev()
                .find(|key| document.get(group, key) == document.get_localized(group, key, "C"));
            if let Some(key) = unshadowed {
                edits.push(Edit::new(group, key, " edited by ballast:\tünï\\cödé \n2 ", false));
            }
        }
        edits.push(Edit::new(first, b"BallastAdded", "added=[yes]; #not a comment", false));
    }
    edits.push(Edit::new(b"Ballast", b"Budget", "2G", false));
    edits.push(Edit::new(b"Ballast", b"Cache", "$HOME/.cache/ballast/", true));
    edits.push(Edit::new(b"Ballast\x1dNested", b"Level", "3", false));
    edits
}

#[test]
fn edits_read_back_in_kreadconfig5_and_leave_other_keys_alone() {
    let Some(peer) = Peer::start() else { return };
    let mut mismatches = Vec::new();
    for (name, bytes) in fixtures() {
        let before = Document::parse_as(&bytes, generation());
        let mut after = before.clone();
        let mut applied = Vec::new();
        for edit in planned_edits(&before) {
            let result = if edit.expandable {
                after.set_expandable(&edit.group, &edit.key, &edit.value)
            } else {
                after.set(&edit.group, &edit.key, &edit.value)
            };
            match result {
                Ok(_) => applied.push(edit),
                // Immutable files and groups refuse edits, as KConfig does.
                Err(error) => assert!(name.contains("immutable"), "{name}: {error}"),
            }
        }
        let after_file = peer.write(&format!("after-{name}"), &after.to_bytes());
        let mut pairs = candidates(&before, &bytes);
        pairs.extend(candidates(&after, &after.to_bytes()));
        for (group, key) in pairs {
            let edit = applied.iter().find(|edit| edit.group == group && edit.key == key);
            let expected = match edit {
                Some(edit) => {
                    let entry = after.get(&group, &key).expect("an edited key has a value");
                    assert_eq!(*entry.value, *edit.value, "{name}: our read of an edited key");
                    Some(peer.printed(&entry))
                }
                // every_fixture_key_reads_like_kreadconfig5 holds our read of the file before
                // the edits to kreadconfig's: one kreadconfig run per key instead of two.
                None => peer.expected(&before, &group, &key),
            };
            let theirs = peer.read(&after_file, &group, &key);
            if expected != theirs {
                mismatches.push(mismatch(&name, &group, &key, expected, theirs));
            }
        }
    }
    assert_no_mismatches(&mismatches);
}

#[test]
fn new_keys_and_groups_are_written_as_kwriteconfig5_writes_them() {
    let Some(peer) = Peer::start() else { return };
    let values = [
        "plain",
        " leading",
        "trailing ",
        "  ",
        "a\nb",
        "tab\there",
        "back\\slash",
        "ünïcödé",
        "\u{7f}",
        "[x]=y",
        "$HOME",
        "#x",
        "\u{1}",
        "a;b,c",
        "\r",
        "\\;",
    ];
    let groups: [&[u8]; 4] = [b"G", b"A\x1dB", b"$i", b" spaced "];
    for group in groups {
        for value in values {
            let file = peer.write("kwriteconfig5.rc", b"");
            let mut command = peer.command(&tool("kwriteconfig"));
            command.arg("--file").arg(&file);
            for part in group_arguments(group) {
                command.arg("--group").arg(OsStr::from_bytes(part));
            }
            let status = command.args(["--key", "k", value]).status().expect("running kwriteconfig5");
            assert!(status.success());
            let mut document = Document::parse_as(b"", generation());
            document.set(group, "k", value).expect("a new key in an empty file");
            assert_eq!(
                String::from_utf8_lossy(&document.to_bytes()),
                String::from_utf8_lossy(&std::fs::read(&file).expect("kwriteconfig5's file")),
                "group {:?}, value {value:?}",
                String::from_utf8_lossy(group)
            );
        }
    }
}
