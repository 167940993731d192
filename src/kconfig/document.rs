//! The document: its lines, the reads KConfig would make of them, and minimal edits.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::escape::{escape, unescape, Field};
use super::expand::expand;
use super::line::{ImmutableMark, Line, LineKind};
use super::resolve::{Locale, Resolved, Stored};
use super::{Generation, KconfigError, DEFAULT_GROUP, GROUP_SEPARATOR};

/// A KConfig file as a list of lines, each kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    lines: Vec<Line>,
    /// The KConfig whose reading this models; edits are checked against it too.
    generation: Generation,
}

/// A key's value as KConfig reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Unescaped; for an `[$e]` key, before `$` expansion.
    pub value: Cow<'a, [u8]>,
    /// `key[$e]`: `$VAR` in the value expands on read.
    pub expand: bool,
    /// `key[$i]`, or a key under a `[Group][$i]` header.
    pub immutable: bool,
}

impl Entry<'_> {
    /// The value a KDE program gets: for an `[$e]` key, with `$VAR` and `${VAR}` looked
    /// up in `env`, e.g. `|name| std::env::var(name).ok()`.
    pub fn expanded<V: AsRef<[u8]>>(&self, env: impl Fn(&str) -> Option<V>) -> Cow<'_, [u8]> {
        if self.expand {
            Cow::Owned(expand(&self.value, &env))
        } else {
            Cow::Borrowed(&self.value)
        }
    }
}

impl<'d> From<Stored<'d>> for Entry<'d> {
    fn from(stored: Stored<'d>) -> Self {
        Entry { value: unescape(stored.raw_value()), expand: stored.entry.expand, immutable: stored.immutable }
    }
}

/// Group name -> names of the keys that changed in it: the `a{saay}` body of
/// org.kde.kconfig.notify's ConfigChanged signal.
pub type ChangedKeys = BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>;

/// Whether an edit adds the `[$e]` flag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expansion {
    Keep,
    Mark,
}

impl Document {
    /// Reads any bytes as KF5 reads them; nothing is rejected, since KConfig skips what it
    /// cannot read.
    pub fn parse(bytes: &[u8]) -> Self {
        Self::parse_as(bytes, Generation::Kf5)
    }

    /// Reads any bytes as `generation`'s KConfig reads them.
    pub fn parse_as(bytes: &[u8], generation: Generation) -> Self {
        let lines =
            bytes.split_inclusive(|&byte| byte == b'\n').map(|text| Line::parse(text.to_vec(), generation)).collect();
        Self { lines, generation }
    }

    pub(super) fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The document as bytes: those parsed, changed only in the lines edits rewrote or inserted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.lines.iter().map(|line| line.text.len()).sum());
        for line in &self.lines {
            bytes.extend_from_slice(&line.text);
        }
        bytes
    }

    /// Every group with a header, in order of first appearance; [`DEFAULT_GROUP`] first
    /// when keys precede the first header.
    pub fn groups(&self) -> Vec<&[u8]> {
        let mut seen = HashSet::new();
        self.lines_with_group()
            .filter(|(_, _, line)| matches!(line.kind, LineKind::Header(_) | LineKind::Entry(_)))
            .filter_map(|(group, _, _)| seen.insert(group).then_some(group))
            .collect()
    }

    /// The untranslated keys of `group` that have a value, in order of first appearance.
    pub fn keys(&self, group: impl AsRef<[u8]>) -> Vec<&[u8]> {
        let group = group.as_ref();
        let resolved = Resolved::new(&self.lines, &Locale::C);
        resolved
            .keys()
            .filter(|&(owner, key)| owner == group && present(&resolved, owner, key).is_some())
            .map(|(_, key)| key)
            .collect()
    }

    /// The untranslated `key`: the entry [`Document::set`] and [`Document::remove`] change.
    pub fn get(&self, group: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Option<Entry<'_>> {
        let resolved = Resolved::new(&self.lines, &Locale::C);
        present(&resolved, group.as_ref(), key.as_ref()).map(Entry::from)
    }

    /// What a program running in `locale` reads: `key[de_DE]` or `key[de]` before `key`
    /// for `de_DE`. kreadconfig5 under `LC_ALL=C` reads `get_localized(.., "C")`, which
    /// differs from [`Document::get`] only for the odd `key[]` and `key[C]`.
    pub fn get_localized(&self, group: impl AsRef<[u8]>, key: impl AsRef<[u8]>, locale: &str) -> Option<Entry<'_>> {
        let resolved = Resolved::new(&self.lines, &Locale::new(locale));
        resolved.visible(group.as_ref(), key.as_ref()).map(Entry::from)
    }

    /// Sets the untranslated `key`. An existing key keeps its line, spelling and flags
    /// (`[$e]` included; the value is stored as given, so `$` in it is expanded on read);
    /// a new key goes after the last entry of its group's last section, a new group at
    /// the end of the file. Returns whether the document changed.
    pub fn set(
        &mut self,
        group: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, KconfigError> {
        self.write(group.as_ref(), key.as_ref(), value.as_ref(), Expansion::Keep)
    }

    /// Like [`Document::set`], and marks the key `[$e]`, so that `$HOME` in `value`
    /// expands when read.
    pub fn set_expandable(
        &mut self,
        group: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, KconfigError> {
        self.write(group.as_ref(), key.as_ref(), value.as_ref(), Expansion::Mark)
    }

    /// Deletes every line of the untranslated `key` in `group`; translations stay, and so
    /// does the group header. Returns whether anything was deleted.
    pub fn remove(&mut self, group: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Result<bool, KconfigError> {
        let (group, key) = (group.as_ref(), key.as_ref());
        check_writable(&Resolved::new(&self.lines, &Locale::C), group, key)?;
        let doomed: Vec<usize> = self
            .lines_with_group()
            .filter(|&(owner, _, line)| {
                owner == group
                    && matches!(&line.kind, LineKind::Entry(entry)
                        if !key.is_empty() && entry.key == key && entry.locale.is_none())
            })
            .map(|(_, index, _)| index)
            .collect();
        for &index in doomed.iter().rev() {
            self.lines.remove(index);
        }
        Ok(!doomed.is_empty())
    }

    fn write(&mut self, group: &[u8], key: &[u8], value: &[u8], expansion: Expansion) -> Result<bool, KconfigError> {
        let resolved = Resolved::new(&self.lines, &Locale::C);
        check_writable(&resolved, group, key)?;
        if let Some(current) = present(&resolved, group, key) {
            let mark = expansion == Expansion::Mark && !current.entry.expand;
            if !mark && *unescape(current.raw_value()) == *value {
                return Ok(false);
            }
            let (index, text) = (current.index, with_new_value(current, value, mark));
            self.lines[index] = Line::parse(text, self.generation);
            return Ok(true);
        }
        let text = self.entry_text(group, key, value, expansion)?;
        match self.insertion_point(group) {
            Some(index) => self.insert_line(index, text),
            None => self.append_group(group, text)?,
        }
        Ok(true)
    }

    /// Each line with the group KConfig files it under.
    fn lines_with_group(&self) -> impl Iterator<Item = (&[u8], usize, &Line)> + '_ {
        let mut group = DEFAULT_GROUP.as_bytes();
        self.lines.iter().enumerate().map(move |(index, line)| {
            if let LineKind::Header(header) = &line.kind {
                group = &header.group;
            }
            (group, index, line)
        })
    }

    /// Where a new key of `group` goes: after the group's last line that is neither blank
    /// nor a comment, so that what precedes the next header stays with it. `None` when
    /// the group has no header.
    fn insertion_point(&self, group: &[u8]) -> Option<usize> {
        let last = self
            .lines_with_group()
            .filter(|&(owner, _, line)| owner == group && line.is_content())
            .map(|(_, index, _)| index)
            .last();
        match last {
            Some(index) => Some(index + 1),
            None => (group == DEFAULT_GROUP.as_bytes()).then_some(0),
        }
    }

    /// `key=value` plus the file's line ending, if KConfig reads that key name back.
    fn entry_text(
        &self,
        group: &[u8],
        key: &[u8],
        value: &[u8],
        expansion: Expansion,
    ) -> Result<Vec<u8>, KconfigError> {
        let mut text = escape(key, Field::Key);
        if expansion == Expansion::Mark {
            text.extend_from_slice(b"[$e]");
        }
        text.push(b'=');
        text.extend_from_slice(&escape(value, Field::Value));
        let line = Line::parse(text, self.generation);
        let reads_back = matches!(&line.kind, LineKind::Entry(entry)
            if entry.key == key && entry.locale.is_none() && !entry.deleted);
        if !reads_back {
            return Err(KconfigError::UnwritableKey { group: group.to_vec(), key: key.to_vec() });
        }
        let mut text = line.text;
        text.extend_from_slice(self.newline());
        Ok(text)
    }

    fn insert_line(&mut self, index: usize, text: Vec<u8>) {
        if index > 0 {
            self.terminate(index - 1);
        }
        self.lines.insert(index, Line::parse(text, self.generation));
    }

    /// A new group at the end of the file, after a blank line.
    fn append_group(&mut self, group: &[u8], entry_text: Vec<u8>) -> Result<(), KconfigError> {
        let mut header = header_text(group, self.generation)
            .ok_or_else(|| KconfigError::UnwritableGroup { group: group.to_vec() })?;
        let newline = self.newline();
        if let Some(last) = self.lines.len().checked_sub(1) {
            self.terminate(last);
            if !matches!(self.lines[last].kind, LineKind::Blank) {
                self.lines.push(Line::parse(newline.to_vec(), self.generation));
            }
        }
        header.extend_from_slice(newline);
        self.lines.push(Line::parse(header, self.generation));
        self.lines.push(Line::parse(entry_text, self.generation));
        Ok(())
    }

    /// Ends line `index` with the file's line ending if it has none (the last line).
    fn terminate(&mut self, index: usize) {
        let newline = self.newline();
        let line = &mut self.lines[index];
        if !line.has_terminator() {
            let mut text = std::mem::take(&mut line.text);
            text.extend_from_slice(newline);
            *line = Line::parse(text, self.generation);
        }
    }

    /// The file's line ending, going by its first line.
    fn newline(&self) -> &'static [u8] {
        match self.lines.first() {
            Some(line) if line.text.ends_with(b"\r\n") => b"\r\n",
            _ => b"\n",
        }
    }
}

/// The untranslated keys whose value or `[$e]` flag differs between the documents.
pub fn changed_keys(before: &Document, after: &Document) -> ChangedKeys {
    let old = Resolved::new(&before.lines, &Locale::C);
    let new = Resolved::new(&after.lines, &Locale::C);
    let mut changed = ChangedKeys::new();
    for (group, key) in old.keys().chain(new.keys()) {
        if reading(&old, group, key) != reading(&new, group, key) {
            changed.entry(group.to_vec()).or_default().insert(key.to_vec());
        }
    }
    changed
}

/// What a read of the key finds, as far as notification cares.
fn reading<'d>(resolved: &Resolved<'d>, group: &[u8], key: &[u8]) -> Option<(Cow<'d, [u8]>, bool)> {
    present(resolved, group, key).map(|stored| (unescape(stored.raw_value()), stored.entry.expand))
}

/// The untranslated entry, unless deleted with `[$d]`.
fn present<'d>(resolved: &Resolved<'d>, group: &[u8], key: &[u8]) -> Option<Stored<'d>> {
    resolved.untranslated(group, key).filter(|stored| !stored.entry.deleted)
}

fn check_writable(resolved: &Resolved, group: &[u8], key: &[u8]) -> Result<(), KconfigError> {
    let (group_name, key_name) = (group.to_vec(), key.to_vec());
    if resolved.file_immutable {
        Err(KconfigError::ImmutableFile { group: group_name, key: key_name })
    } else if resolved.is_group_immutable(group) {
        Err(KconfigError::ImmutableGroup { group: group_name, key: key_name })
    } else if resolved.untranslated(group, key).is_some_and(|stored| stored.immutable) {
        Err(KconfigError::ImmutableKey { group: group_name, key: key_name })
    } else {
        Ok(())
    }
}

/// The entry's line with `value` in place of the old one, and `[$e]` after the key
/// when `mark_expand`; spacing, other flags and the line ending stay. A `\r` inside
/// the line, which KConfig never sees, goes.
fn with_new_value(current: Stored, value: &[u8], mark_expand: bool) -> Vec<u8> {
    let (content, entry) = (current.line.content(), current.entry);
    let mut new = Vec::with_capacity(current.line.text.len() + value.len() + 4);
    new.extend_from_slice(&content[..entry.key_end]);
    if mark_expand {
        new.extend_from_slice(b"[$e]");
    }
    new.extend_from_slice(&content[entry.key_end..entry.value.start]);
    new.extend_from_slice(&escape(value, Field::Value));
    new.extend_from_slice(&content[entry.value.end..]);
    new.extend_from_slice(current.line.ending());
    new
}

/// `[A][B]` for the group `A\x1dB`, if KConfig reads it back as that group.
fn header_text(group: &[u8], generation: Generation) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = group.split(|&byte| byte == GROUP_SEPARATOR).collect();
    let mut text = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        text.push(b'[');
        // Like KConfig, write a last part such as `$i` as `\x24i`, not as a marker.
        let looks_like_marker = index + 1 == parts.len()
            && part.first() == Some(&b'$')
            && part.len() <= 10
            && part[1..].iter().all(u8::is_ascii_lowercase);
        if looks_like_marker {
            text.extend_from_slice(b"\\x24");
            text.extend_from_slice(&escape(&part[1..], Field::Group));
        } else {
            text.extend_from_slice(&escape(part, Field::Group));
        }
        text.push(b']');
    }
    let line = Line::parse(text, generation);
    let reads_back = matches!(&line.kind, LineKind::Header(header)
        if header.group == group && header.mark == ImmutableMark::None);
    reads_back.then_some(line.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, edit: impl FnOnce(&mut Document) -> Result<bool, KconfigError>) -> String {
        let mut document = Document::parse(text.as_bytes());
        edit(&mut document).expect("the edit is allowed");
        String::from_utf8(document.to_bytes()).expect("UTF-8")
    }

    fn value(document: &Document, group: &str, key: &str) -> Option<String> {
        let entry = document.get(group, key)?;
        Some(String::from_utf8(entry.value.into_owned()).expect("UTF-8"))
    }

    #[test]
    fn parse_and_serialize_give_back_the_bytes() {
        for text in [&b""[..], b"\n", b"[A]\r\nk=v", b"\xef\xbb\xbf[A]\n\xff\x00=\\q\n\r\r\n", b"[Bad\n k = v \n"] {
            assert_eq!(Document::parse(text).to_bytes(), text);
        }
    }

    #[test]
    fn groups_and_keys_in_file_order() {
        let document = Document::parse(b"top=1\n[B]\nb=1\n[A]\n[B]\nc=1\nb=2\ngone=1\ngone[$d]\nk[de]=1\n");
        assert_eq!(document.groups(), [&b"<default>"[..], b"B", b"A"]);
        assert_eq!(document.keys("B"), [&b"b"[..], b"c"]);
        assert_eq!(Document::parse(b"# only a comment\n[A]\n").groups(), [&b"A"[..]]);
    }

    #[test]
    fn get_reads_the_untranslated_key_and_get_localized_the_translation() {
        let document = Document::parse(b"[A]\nk=plain\nk[]=odd\nk[de]=deutsch\n");
        assert_eq!(value(&document, "A", "k").as_deref(), Some("plain"));
        let localized = |locale| document.get_localized("A", "k", locale).map(|entry| entry.value.into_owned());
        assert_eq!(localized("de_DE").as_deref(), Some(&b"deutsch"[..]));
        assert_eq!(localized("C").as_deref(), Some(&b"odd"[..]));
    }

    #[test]
    fn entries_expand_only_with_the_flag() {
        let document = Document::parse(b"[P]\na[$e]=$HOME/x\nb=$HOME/x\nc[$ie]=\\s${HOME}\n");
        let env = |name: &str| (name == "HOME").then(|| "/home/u".to_owned());
        let read = |key| document.get("P", key).map(|entry| entry.expanded(env).into_owned());
        assert_eq!(read("a").as_deref(), Some(&b"/home/u/x"[..]));
        assert_eq!(read("b").as_deref(), Some(&b"$HOME/x"[..]));
        assert_eq!(read("c").as_deref(), Some(&b" /home/u"[..]));
        let c = document.get("P", "c").expect("c is set");
        assert!(c.expand && c.immutable);
    }

    #[test]
    fn set_rewrites_only_the_value_of_the_last_occurrence() {
        let text = "[A]\nk=1\n\n[A]\n  k[$e] =  $HOME/old  \r\nj=2\n";
        let after = edited(text, |document| document.set("A", "k", "$HOME/new dir/"));
        assert_eq!(after, "[A]\nk=1\n\n[A]\n  k[$e] =  $HOME/new dir/  \r\nj=2\n");
    }

    #[test]
    fn set_escapes_values_as_kconfig_does() {
        let after = edited("[A]\nk=1\n", |document| document.set("A", "k", " a\tb\nc\\d "));
        assert_eq!(after, "[A]\nk=\\sa\\tb\\nc\\\\d\\s\n");
    }

    #[test]
    fn set_to_the_current_value_changes_nothing() {
        let mut document = Document::parse(b"[A]\nk=\\x41\n");
        assert_eq!(document.set("A", "k", "A"), Ok(false));
        assert_eq!(document.to_bytes(), b"[A]\nk=\\x41\n");
    }

    #[test]
    fn set_expandable_adds_the_flag_after_the_key() {
        let after = edited("[A]\nk = $HOME\n", |document| document.set_expandable("A", "k", "$HOME"));
        assert_eq!(after, "[A]\nk[$e] = $HOME\n");
        let after = edited("[A]\nj=1\n", |document| document.set_expandable("A", "k", "$HOME/"));
        assert_eq!(after, "[A]\nj=1\nk[$e]=$HOME/\n");
    }

    #[test]
    fn new_keys_go_after_the_last_entry_of_the_group() {
        let text = "[A]\na=1\n\n[B]\nb=1\n\n[A]\nc=1\n# about B\n\n[B]\nd=1\n";
        let after = edited(text, |document| document.set("A", "new", "v"));
        assert_eq!(after, "[A]\na=1\n\n[B]\nb=1\n\n[A]\nc=1\nnew=v\n# about B\n\n[B]\nd=1\n");
        let after = edited("[A]\n[B]\n", |document| document.set("A", "k", "v"));
        assert_eq!(after, "[A]\nk=v\n[B]\n");
        // A broken header does not end the group above it.
        let after = edited("[A]\n[Bad\nx=1\n", |document| document.set("A", "k", "v"));
        assert_eq!(after, "[A]\n[Bad\nx=1\nk=v\n");
    }

    #[test]
    fn deleted_keys_are_set_again_at_the_end_of_the_group() {
        let after = edited("[A]\nk=1\nk[$d]\nj=2\n", |document| document.set("A", "k", "3"));
        assert_eq!(after, "[A]\nk=1\nk[$d]\nj=2\nk=3\n");
    }

    #[test]
    fn default_group_keys_go_before_the_first_header() {
        let after = edited("# c\n[A]\nk=1\n", |document| document.set(DEFAULT_GROUP, "top", "1"));
        assert_eq!(after, "top=1\n# c\n[A]\nk=1\n");
        let after = edited("a=1\n\n[A]\n", |document| document.set(DEFAULT_GROUP, "b", "2"));
        assert_eq!(after, "a=1\nb=2\n\n[A]\n");
        // KConfig does not skip a BOM: `\u{feff}[A]` is no header, and `k` is a default key.
        let after = edited("\u{feff}[A]\nk=1\n[B]\n", |document| document.set(DEFAULT_GROUP, "b", "2"));
        assert_eq!(after, "\u{feff}[A]\nk=1\nb=2\n[B]\n");
    }

    #[test]
    fn new_groups_go_at_the_end_after_a_blank_line() {
        let after = edited("[A]\nk=1", |document| document.set("B\x1d$i", "k", "v"));
        assert_eq!(after, "[A]\nk=1\n\n[B][\\x24i]\nk=v\n");
        let after = edited("[A]\nk=1\n\n", |document| document.set("B", "k", "v"));
        assert_eq!(after, "[A]\nk=1\n\n[B]\nk=v\n");
        let after = edited("", |document| document.set("B", "k", "v"));
        assert_eq!(after, "[B]\nk=v\n");
    }

    #[test]
    fn new_lines_follow_the_file_line_ending() {
        let after = edited("[A]\r\nk=1\r\n", |document| {
            document.set("A", "j", "2")?;
            document.set("B", "k", "v")
        });
        assert_eq!(after, "[A]\r\nk=1\r\nj=2\r\n\r\n[B]\r\nk=v\r\n");
    }

    #[test]
    fn immutable_things_are_refused() {
        let refused = |text: &str, group: &str, key: &str| {
            let mut document = Document::parse(text.as_bytes());
            let error = document.set(group, key, "x").expect_err("refused");
            assert_eq!(document.remove(group, key).as_ref(), Err(&error));
            assert_eq!(document.to_bytes(), text.as_bytes(), "a refused edit changes nothing");
            error
        };
        let (group, key) = (b"A".to_vec(), b"k".to_vec());
        assert_eq!(
            refused("[A]\nk=1\n[$i]\n", "A", "k"),
            KconfigError::ImmutableFile { group: group.clone(), key: key.clone() }
        );
        assert_eq!(
            refused("[A][$i]\nj=1\n", "A", "k"),
            KconfigError::ImmutableGroup { group: group.clone(), key: key.clone() }
        );
        assert_eq!(refused("[A]\nk[$i]=1\n", "A", "k"), KconfigError::ImmutableKey { group, key });
        let message = refused("[A][B][$i]\n", "A\x1dB", "Budget").to_string();
        assert_eq!(message, "cannot change key \"Budget\" in [A][B]: the group is marked immutable ([$i])");
        // Immutability is not inherited by nested groups.
        assert_eq!(edited("[A][$i]\n", |document| document.set("A\x1dB", "k", "v")), "[A][$i]\n\n[A][B]\nk=v\n");
    }

    #[test]
    fn names_kconfig_would_misread_are_refused() {
        let mut document = Document::parse(b"");
        assert!(matches!(document.set("A", "", "v"), Err(KconfigError::UnwritableKey { .. })));
        assert!(matches!(document.set("A", "back\\slash", "v"), Err(KconfigError::UnwritableKey { .. })));
        assert!(matches!(document.set("\x1dB", "k", "v"), Err(KconfigError::UnwritableGroup { .. })));
        assert_eq!(document.to_bytes(), b"");
        let after = edited("", |document| document.set("A", " #k=[x] ", "v"));
        assert_eq!(after, "[A]\n\\s#k\\x3d\\x5bx\\x5d\\s=v\n");
        let after = edited("", |document| document.set("A", "#k", "v"));
        assert_eq!(after, "[A]\n\\x23k=v\n");
    }

    #[test]
    fn remove_deletes_every_line_of_the_key_and_nothing_else() {
        let text = "[A]\nk=1\nk[de]=2\nj=1\n[B]\nk=3\n[A]\nk[$d]\nk=4";
        let mut document = Document::parse(text.as_bytes());
        assert_eq!(document.remove("A", "k"), Ok(true));
        assert_eq!(document.to_bytes(), b"[A]\nk[de]=2\nj=1\n[B]\nk=3\n[A]\n");
        assert_eq!(document.remove("A", "k"), Ok(false));
        assert_eq!(document.get_localized("A", "k", "de").map(|entry| entry.value.into_owned()), Some(b"2".to_vec()));
    }

    #[test]
    fn changed_keys_name_what_a_reader_sees_change() {
        let before = Document::parse(b"[KDE]\nAnimationDurationFactor=1\nSingleClick=false\n[A][B]\nk=1\nx=1\n");
        let mut after = before.clone();
        after.set("KDE", "AnimationDurationFactor", "0.5").expect("allowed");
        after.set("KDE", "SingleClick", "false").expect("allowed");
        after.set_expandable("A\x1dB", "k", "1").expect("allowed");
        after.remove("A\x1dB", "x").expect("allowed");
        after.set("New", "n", "").expect("allowed");
        let changed: Vec<(Vec<u8>, Vec<Vec<u8>>)> = changed_keys(&before, &after)
            .into_iter()
            .map(|(group, keys)| (group, keys.into_iter().collect()))
            .collect();
        assert_eq!(
            changed,
            [
                (b"A\x1dB".to_vec(), vec![b"k".to_vec(), b"x".to_vec()]),
                (b"KDE".to_vec(), vec![b"AnimationDurationFactor".to_vec()]),
                (b"New".to_vec(), vec![b"n".to_vec()]),
            ]
        );
        assert!(changed_keys(&after, &after).is_empty());
    }
}
