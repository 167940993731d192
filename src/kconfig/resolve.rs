//! What KF5's entry map holds after reading one file, or a stack of files the way
//! `KConfigPrivate::parseConfigFiles` reads them (least important first, each into the same
//! map): which line gives each key its value, following `KEntryMap::setEntry` (last line
//! wins, except over an immutable entry; a localized entry beats the plain one until a plain
//! line overwrites it). A group locked with `[G][$i]` in one file skips its sections in the
//! files after it, and a file marked `[$i]` as a whole ends the reading.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, HashSet};

use super::line::{EntryLine, ImmutableMark, Line, LineKind};
use super::DEFAULT_GROUP;

/// The locale KConfig picks translated keys (`key[de_DE]=`) for.
pub(super) struct Locale<'a> {
    name: &'a [u8],
    language: &'a [u8],
}

impl<'a> Locale<'a> {
    /// kreadconfig5 under `LC_ALL=C`.
    pub const C: Locale<'static> = Locale { name: b"C", language: b"C" };

    pub fn new(name: &'a str) -> Self {
        let name = name.as_bytes();
        let language = name.split(|&byte| byte == b'_').next().unwrap_or(name);
        Self { name, language }
    }

    /// KF5 keeps a tag equal to the locale or its language, an empty tag, and for
    /// `en_US` any tag that starts with `C`.
    fn accepts(&self, tag: &[u8]) -> bool {
        tag.is_empty() || tag == self.name || tag == self.language || (tag[0] == b'C' && self.name == b"en_US")
    }
}

/// The line a key's value currently comes from.
#[derive(Clone, Copy)]
pub(super) struct Stored<'d> {
    /// Which file of the stack (0: the least important).
    pub file: usize,
    pub index: usize,
    pub line: &'d Line,
    pub entry: &'d EntryLine,
    /// The key's own `[$i]`, or its group header's.
    pub immutable: bool,
    /// `key[de_DE]` outranks `key[de]` whatever their order.
    localized_country: bool,
}

impl<'d> Stored<'d> {
    /// The value as written, escapes and all.
    pub fn raw_value(&self) -> &'d [u8] {
        &self.line.content()[self.entry.value.clone()]
    }
}

#[derive(Default)]
struct Slot<'d> {
    plain: Option<Stored<'d>>,
    localized: Option<Stored<'d>>,
}

pub(super) struct Resolved<'d> {
    slots: HashMap<(&'d [u8], &'d [u8]), Slot<'d>>,
    /// (group, key) in the order the keys first got a value.
    order: Vec<(&'d [u8], &'d [u8])>,
    immutable_groups: HashSet<&'d [u8]>,
    pub file_immutable: bool,
}

impl<'d> Resolved<'d> {
    /// One file.
    pub fn new(lines: &'d [Line], locale: &Locale) -> Self {
        Self::stack(&[lines], locale)
    }

    /// Files read one after another into one map, the least important first.
    pub fn stack(files: &[&'d [Line]], locale: &Locale) -> Self {
        let mut resolved =
            Self { slots: HashMap::new(), order: Vec::new(), immutable_groups: HashSet::new(), file_immutable: false };
        // A group's own immutability while reading; a line with an empty key sets it.
        let mut group_locks: HashMap<&[u8], bool> = HashMap::new();
        for (file, lines) in files.iter().enumerate() {
            resolved.read_file(file, lines, locale, &mut group_locks);
            // KConfig stops at a file that is immutable as a whole.
            if resolved.file_immutable {
                break;
            }
        }
        resolved.immutable_groups =
            group_locks.into_iter().filter_map(|(group, locked)| locked.then_some(group)).collect();
        resolved
    }

    fn read_file(
        &mut self,
        file: usize,
        lines: &'d [Line],
        locale: &Locale,
        group_locks: &mut HashMap<&'d [u8], bool>,
    ) {
        let mut group: &[u8] = DEFAULT_GROUP.as_bytes();
        // KF5's groupOptionImmutable: entries under a `[G][$i]` header are immutable.
        let mut group_option_immutable = false;
        let mut immutable_headers = Vec::new();
        // KF5's groupSkip: a header of a group locked so far hides its section.
        let mut section_skipped = false;
        for (index, line) in lines.iter().enumerate() {
            match &line.kind {
                LineKind::Header(header) => {
                    group_option_immutable = self.file_immutable;
                    match header.mark {
                        ImmutableMark::File => self.file_immutable = true,
                        ImmutableMark::Group => group_option_immutable = true,
                        ImmutableMark::None => {}
                    }
                    group = &header.group;
                    section_skipped = group_locks.get(group) == Some(&true);
                    if group_option_immutable && !section_skipped {
                        immutable_headers.push(group);
                    }
                }
                LineKind::BrokenHeader => group_option_immutable = self.file_immutable,
                LineKind::Entry(_) if section_skipped => {}
                LineKind::Entry(entry) => {
                    let tag = entry.locale_tag(line.content());
                    if tag.is_some_and(|tag| !locale.accepts(tag)) {
                        continue;
                    }
                    let immutable = entry.immutable || group_option_immutable;
                    if entry.key.is_empty() {
                        group_locks.insert(group, immutable);
                        continue;
                    }
                    let stored = Stored {
                        file,
                        index,
                        line,
                        entry,
                        immutable,
                        localized_country: tag.is_some_and(|tag| tag.contains(&b'_')),
                    };
                    let group_locked = group_locks.get(group) == Some(&true);
                    self.set_entry(group, &entry.key, stored, tag.is_some(), group_locked);
                }
                LineKind::Blank | LineKind::Comment | LineKind::Ignored => {}
            }
        }
        // KF5 marks `[G][$i]` groups immutable only once the whole file is read.
        group_locks.extend(immutable_headers.into_iter().map(|group| (group, true)));
    }

    fn set_entry(&mut self, group: &'d [u8], key: &'d [u8], stored: Stored<'d>, localized: bool, group_locked: bool) {
        let slot = match self.slots.entry((group, key)) {
            MapEntry::Occupied(slot) => slot.into_mut(),
            MapEntry::Vacant(_) if group_locked => return,
            MapEntry::Vacant(vacant) => {
                self.order.push((group, key));
                vacant.insert(Slot::default())
            }
        };
        let target = if localized { &mut slot.localized } else { &mut slot.plain };
        let refused = match target {
            None => group_locked,
            // An immutable entry stays, and `key[de_DE]` outranks a later `key[de]`.
            Some(existing) => {
                existing.immutable || (localized && existing.localized_country && !stored.localized_country)
            }
        };
        if refused {
            return;
        }
        let overwrote = target.replace(stored).is_some();
        // Overwriting a plain entry drops the translation that shadowed it.
        if overwrote && !localized {
            slot.localized = None;
        }
    }

    /// What a read in the locale finds: the translation first, nothing if deleted.
    pub fn visible(&self, group: &[u8], key: &[u8]) -> Option<Stored<'d>> {
        let slot = self.slots.get(&(group, key))?;
        slot.localized.or(slot.plain).filter(|stored| !stored.entry.deleted)
    }

    /// The untranslated entry, deleted or not.
    pub fn untranslated(&self, group: &[u8], key: &[u8]) -> Option<Stored<'d>> {
        self.slots.get(&(group, key))?.plain
    }

    pub fn is_group_immutable(&self, group: &[u8]) -> bool {
        self.immutable_groups.contains(group)
    }

    /// Every (group, key) that ever got a value, deleted ones included, in file order.
    pub fn keys(&self) -> impl Iterator<Item = (&'d [u8], &'d [u8])> + '_ {
        self.order.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        text.as_bytes()
            .split_inclusive(|&byte| byte == b'\n')
            .map(|line| Line::parse(line.to_vec(), super::super::Generation::Kf5))
            .collect()
    }

    /// The raw value a program in `locale` reads.
    fn read(text: &str, locale: &str, group: &str, key: &str) -> Option<String> {
        let lines = lines(text);
        let resolved = Resolved::new(&lines, &Locale::new(locale));
        let stored = resolved.visible(group.as_bytes(), key.as_bytes())?;
        Some(String::from_utf8(stored.raw_value().to_vec()).expect("UTF-8"))
    }

    fn read_c(text: &str, group: &str, key: &str) -> Option<String> {
        read(text, "C", group, key)
    }

    #[test]
    fn last_line_wins_and_groups_merge() {
        let text = "top=1\n[A]\nk=1\n[B]\nk=b\n[A]\nk=2\nj=3\n[Bad\nk=4\n";
        assert_eq!(read_c(text, "<default>", "top").as_deref(), Some("1"));
        assert_eq!(read_c(text, "A", "k").as_deref(), Some("4"));
        assert_eq!(read_c(text, "A", "j").as_deref(), Some("3"));
        assert_eq!(read_c(text, "B", "k").as_deref(), Some("b"));
        assert_eq!(read_c("[A][B]\nk=1\n", "A\x1dB", "k").as_deref(), Some("1"));
        assert_eq!(read_c("[]\nk=1\n", "", "k").as_deref(), Some("1"));
        assert_eq!(read_c("[]\nk=1\n", "<default>", "k"), None);
    }

    #[test]
    fn deletion_hides_until_set_again() {
        assert_eq!(read_c("k=1\nk[$d]\n", "<default>", "k"), None);
        assert_eq!(read_c("k=1\nk[$d]\nk=3\n", "<default>", "k").as_deref(), Some("3"));
    }

    #[test]
    fn immutable_entries_resist_later_lines() {
        assert_eq!(read_c("[A]\nk[$i]=1\nk=2\n", "A", "k").as_deref(), Some("1"));
        assert_eq!(read_c("[A][$i]\nk=1\nk=2\n", "A", "k").as_deref(), Some("1"));
        assert_eq!(read_c("[A]\nk=1\n[A][$i]\nk=2\n", "A", "k").as_deref(), Some("2"));
        // A broken header ends the `[$i]` header's reach, not its group.
        assert_eq!(read_c("[A][$i]\nk=1\n[Bad\nk=2\nk=3\n", "A", "k").as_deref(), Some("1"));
        assert_eq!(read_c("[A][$i]\nj=1\n[Bad\nk=2\nk=3\n", "A", "k").as_deref(), Some("3"));
    }

    #[test]
    fn an_empty_key_line_locks_the_group_against_new_keys() {
        let text = "[A]\nold=0\n\\\\[$i]=x\nold=1\nnew=1\n";
        assert_eq!(read_c(text, "A", "old").as_deref(), Some("1"));
        assert_eq!(read_c(text, "A", "new"), None);
        assert_eq!(read_c("[A]\n\\\\[$i]=x\n\\\\=y\nnew=1\n", "A", "new").as_deref(), Some("1"));
        // A header of a locked group hides its whole section, unlocking line included.
        let text = "[A]\nold=1\n\\\\[$i]=x\n[A]\nold=2\n\\\\=y\nnew=1\n";
        assert_eq!(read_c(text, "A", "old").as_deref(), Some("1"));
        assert_eq!(read_c(text, "A", "new"), None);
    }

    #[test]
    fn group_and_file_immutability_once_read() {
        let lines = lines("[A][$i]\n[B]\n\\\\[$i]=x\n[C]\nk=1\n");
        let resolved = Resolved::new(&lines, &Locale::C);
        assert!(resolved.is_group_immutable(b"A"));
        assert!(resolved.is_group_immutable(b"B"));
        assert!(!resolved.is_group_immutable(b"C"));
        assert!(!resolved.file_immutable);
        let lines = self::lines("[A]\nk=1\n[$i]\n");
        assert!(Resolved::new(&lines, &Locale::C).file_immutable);
    }

    #[test]
    fn translations_for_the_locale() {
        let text = "k=plain\nk[de]=de\nk[de_DE]=de_DE\nk[fr]=fr\n";
        assert_eq!(read(text, "C", "<default>", "k").as_deref(), Some("plain"));
        assert_eq!(read(text, "de_DE", "<default>", "k").as_deref(), Some("de_DE"));
        assert_eq!(read(text, "de_AT", "<default>", "k").as_deref(), Some("de"));
        assert_eq!(read(text, "fr_FR", "<default>", "k").as_deref(), Some("fr"));
        // lang_COUNTRY outranks lang whatever the order.
        assert_eq!(read("k[de_DE]=1\nk[de]=2\n", "de_DE", "<default>", "k").as_deref(), Some("1"));
        assert_eq!(read("k[C]=c\nk=plain\n", "C", "<default>", "k").as_deref(), Some("c"));
        assert_eq!(read("k[Cx]=c\nk=plain\n", "en_US", "<default>", "k").as_deref(), Some("c"));
        assert_eq!(read("k[]=empty\nk=plain\n", "fr_FR", "<default>", "k").as_deref(), Some("empty"));
    }

    #[test]
    fn overwriting_the_plain_key_drops_its_translation() {
        assert_eq!(read("k=0\nk[de]=1\nk=2\n", "de_DE", "<default>", "k").as_deref(), Some("2"));
        assert_eq!(read("k[de]=1\nk=2\n", "de_DE", "<default>", "k").as_deref(), Some("1"));
    }

    #[test]
    fn keys_in_file_order() {
        let lines = lines("b=1\n[A]\nz=1\na=2\nz=3\n");
        let resolved = Resolved::new(&lines, &Locale::C);
        let keys: Vec<_> = resolved.keys().collect();
        assert_eq!(keys, [(&b"<default>"[..], &b"b"[..]), (b"A", b"z"), (b"A", b"a")]);
    }
}
