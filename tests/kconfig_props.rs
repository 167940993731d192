//! Properties of the kconfig document model: byte-exact round trips, no panics, and
//! edits that change exactly what they say.

use testbed::harness::kconfig_corpus as kconfig_support;

use std::collections::BTreeSet;

use ballast::kconfig::{changed_keys, ChangedKeys, Document, KconfigError};
use kconfig_support::{fixtures, kconfig_file};
use proptest::prelude::*;
use proptest::sample::select;

/// Bytes drawn mostly from KConfig's syntax, so that random input hits its rules.
fn syntax_soup() -> impl Strategy<Value = Vec<u8>> {
    let bytes: Vec<u8> = b"[]=\\$#{}\n\n\n\r \t\x1daeiks_d;xC\xff\xc3\xa9\xef\xbb\xbf".to_vec();
    prop::collection::vec(select(bytes), 0..300)
}

fn group_name() -> impl Strategy<Value = Vec<u8>> {
    let known = select(
        &[
            "General",
            "A",
            "B",
            "A\x1dB",
            "<default>",
            "",
            "$i",
            "New Group",
            " sp ",
            "\x1dB",
            "A\x1d",
            "Compositing",
            "Colors:Header\x1dInactive",
        ][..],
    );
    prop_oneof![
        4 => known.prop_map(|name| name.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
}

fn key_name() -> impl Strategy<Value = Vec<u8>> {
    let known =
        select(&["k", "key", "Name", "a b", "#k", "new key", " k", "k\\", "\u{e9}", "k=v", "[k]", "", "\\sk"][..]);
    prop_oneof![
        4 => known.prop_map(|name| name.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&byte| byte == b'\n').collect()
}

/// How many lines differ in the one region where `before` and `after` differ:
/// (lines of `before` replaced, lines of `after` replacing them).
fn changed_region(before: &[u8], after: &[u8]) -> (usize, usize) {
    let (before, after) = (lines(before), lines(after));
    let prefix = before.iter().zip(&after).take_while(|(old, new)| old == new).count();
    let suffix =
        before[prefix..].iter().rev().zip(after[prefix..].iter().rev()).take_while(|(old, new)| old == new).count();
    (before.len() - prefix - suffix, after.len() - prefix - suffix)
}

fn only(group: &[u8], key: &[u8]) -> ChangedKeys {
    ChangedKeys::from([(group.to_vec(), BTreeSet::from([key.to_vec()]))])
}

#[test]
fn every_fixture_round_trips() {
    for (name, bytes) in fixtures() {
        assert_eq!(Document::parse(&bytes).to_bytes(), bytes, "{name}");
    }
}

proptest! {
    #[test]
    fn any_bytes_round_trip(bytes in any::<Vec<u8>>()) {
        prop_assert_eq!(Document::parse(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn syntax_soup_round_trips(bytes in syntax_soup()) {
        prop_assert_eq!(Document::parse(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn generated_files_round_trip(bytes in kconfig_file()) {
        prop_assert_eq!(Document::parse(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn reads_and_edits_never_panic(
        bytes in prop_oneof![syntax_soup(), any::<Vec<u8>>()],
        group in group_name(),
        key in key_name(),
        value in any::<Vec<u8>>(),
    ) {
        let document = Document::parse(&bytes);
        for group in document.groups() {
            for key in document.keys(group) {
                let entry = document.get(group, key).expect("listed keys have a value");
                let _ = entry.expanded(|name| (name == "HOME").then_some("/home/u"));
                let _ = document.get_localized(group, key, "de_DE");
            }
        }
        let _ = document.get(&group, &key);
        let _ = document.clone().set(&group, &key, &value);
        let _ = document.clone().set_expandable(&group, &key, &value);
        let _ = document.clone().remove(&group, &key);
    }

    #[test]
    fn set_changes_that_key_and_nothing_else(
        bytes in kconfig_file(),
        group in group_name(),
        key in key_name(),
        value in any::<Vec<u8>>(),
        expandable in any::<bool>(),
    ) {
        let before = Document::parse(&bytes);
        let mut after = before.clone();
        let result = if expandable {
            after.set_expandable(&group, &key, &value)
        } else {
            after.set(&group, &key, &value)
        };
        match result {
            Ok(changed) => {
                let entry = after.get(&group, &key).expect("a key just set has a value");
                prop_assert_eq!(&*entry.value, &value[..]);
                prop_assert!(entry.expand || !expandable);
                let expected = if changed { only(&group, &key) } else { ChangedKeys::new() };
                prop_assert_eq!(changed_keys(&before, &after), expected);
                let (replaced, replacing) = changed_region(&bytes, &after.to_bytes());
                prop_assert!(replaced <= 1 && replacing <= 4, "{} lines became {}", replaced, replacing);
                prop_assert_eq!(changed, replacing > 0);
                prop_assert_eq!(&Document::parse(&after.to_bytes()), &after);
                prop_assert_eq!(after.clone().set(&group, &key, &value), Ok(false));
            }
            Err(KconfigError::UnwritableKey { .. } | KconfigError::UnwritableGroup { .. }) => {
                prop_assert!(before.get(&group, &key).is_none(), "only new names can be unwritable");
                prop_assert_eq!(after.to_bytes(), bytes);
            }
            Err(_) => prop_assert_eq!(after.to_bytes(), bytes),
        }
    }

    #[test]
    fn remove_deletes_that_key_and_nothing_else(
        bytes in kconfig_file(),
        group in group_name(),
        key in key_name(),
    ) {
        let before = Document::parse(&bytes);
        let mut after = before.clone();
        match after.remove(&group, &key) {
            Ok(removed) => {
                prop_assert!(after.get(&group, &key).is_none());
                let expected = if before.get(&group, &key).is_some() { only(&group, &key) } else { ChangedKeys::new() };
                prop_assert_eq!(changed_keys(&before, &after), expected);
                let after_bytes = after.to_bytes();
                let mut kept = lines(&after_bytes).into_iter().peekable();
                let dropped = lines(&bytes).into_iter().filter(|line| kept.next_if_eq(line).is_none()).count();
                prop_assert!(kept.next().is_none(), "remove only deletes lines");
                prop_assert_eq!(removed, dropped > 0);
            }
            Err(_) => prop_assert_eq!(after.to_bytes(), bytes),
        }
    }
}
