//! One line of a KConfig file: its exact bytes and what KF5's or KF6's parser makes of them.

use std::ops::Range;

use super::escape::{trim_range, unescape};
use super::{Generation, GROUP_SEPARATOR};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// The bytes as read, line ending included.
    pub text: Vec<u8>,
    /// Length of `text` before its line ending: a final `\n` and the `\r`s before it.
    body_len: usize,
    /// The body without its `\r`s, if it has any. Qt reads the file in text mode, which
    /// drops every `\r`: `k=a\rb` is `ab`.
    body_without_cr: Option<Vec<u8>>,
    /// What KConfig makes of [`Line::content`]; its ranges index into that.
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LineKind {
    Blank,
    Comment,
    Header(Header),
    /// A `[` line KConfig rejects; the lines below it stay in the group above.
    BrokenHeader,
    Entry(EntryLine),
    /// A line KConfig skips: no `=`, an empty key, an unclosed `[`, two locales.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// Unescaped full name, nested parts joined by `GROUP_SEPARATOR`.
    pub group: Vec<u8>,
    pub mark: ImmutableMark,
}

/// What a trailing `[$i]` on a header line marks immutable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ImmutableMark {
    None,
    /// `[Group][$i]`
    Group,
    /// `[$i]` with no group name before it: the whole file.
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EntryLine {
    /// The key as KF5 names it. An empty key makes the line a group marker.
    pub key: Vec<u8>,
    /// The raw tag of `key[de_DE]=`, a range of the line's content.
    pub locale: Option<Range<usize>>,
    pub immutable: bool,
    pub expand: bool,
    /// `key[$d]`: the key reads as absent.
    pub deleted: bool,
    /// End of the key text, option brackets included: where `[$e]` can be added.
    pub key_end: usize,
    /// The escaped value, trimmed, as a range of the line's content.
    pub value: Range<usize>,
}

impl Line {
    pub fn parse(text: Vec<u8>, generation: Generation) -> Self {
        let ending_len = match text.strip_suffix(b"\n") {
            Some(body) => 1 + body.iter().rev().take_while(|&&byte| byte == b'\r').count(),
            None => 0,
        };
        let body_len = text.len() - ending_len;
        let body = &text[..body_len];
        let body_without_cr =
            body.contains(&b'\r').then(|| body.iter().copied().filter(|&byte| byte != b'\r').collect());
        let kind = classify(body_without_cr.as_deref().unwrap_or(body), generation);
        Self { text, body_len, body_without_cr, kind }
    }

    /// The line as KConfig parses it: no line ending, no `\r`.
    pub fn content(&self) -> &[u8] {
        self.body_without_cr.as_deref().unwrap_or(&self.text[..self.body_len])
    }

    /// `\n`, `\r\n`, or nothing on a last line.
    pub fn ending(&self) -> &[u8] {
        &self.text[self.body_len..]
    }

    pub fn has_terminator(&self) -> bool {
        self.text.last() == Some(&b'\n')
    }

    /// Blank lines and comments say nothing about groups or keys.
    pub fn is_content(&self) -> bool {
        !matches!(self.kind, LineKind::Blank | LineKind::Comment)
    }
}

impl EntryLine {
    pub fn locale_tag<'a>(&self, content: &'a [u8]) -> Option<&'a [u8]> {
        self.locale.clone().map(|range| &content[range])
    }
}

fn classify(content: &[u8], generation: Generation) -> LineKind {
    let span = trim_range(content, 0..content.len(), generation);
    match content[span.clone()].first() {
        None => LineKind::Blank,
        Some(b'#') => LineKind::Comment,
        Some(b'[') => parse_header(&content[span]),
        Some(_) => parse_entry(content, span, generation),
    }
}

/// `[A][B]` or `[A][$i]`, as KF5 reads it: anything after the last `]` is ignored, and a
/// missing `]` breaks the whole line.
fn parse_header(line: &[u8]) -> LineKind {
    let mut group = Vec::new();
    let mut mark = ImmutableMark::None;
    let mut start = 1;
    loop {
        let Some(length) = line.get(start..).and_then(|rest| rest.iter().position(|&b| b == b']')) else {
            return LineKind::BrokenHeader;
        };
        let end = start + length;
        let part = &line[start..end];
        if part == b"$i" && end + 1 == line.len() {
            mark = if group.is_empty() { ImmutableMark::File } else { ImmutableMark::Group };
        } else {
            if !group.is_empty() {
                group.push(GROUP_SEPARATOR);
            }
            group.extend_from_slice(&unescape(part));
        }
        start = end + 2;
        if line.get(end + 1) != Some(&b'[') {
            return LineKind::Header(Header { group, mark });
        }
    }
}

/// `key[$ie][de_DE] = value`. Brackets are read right to left, as KConfig does; `[$d]` ends
/// the reading there. KF5 unescapes a deleted key once and every other key twice (`a\\sb`
/// is the key `a b`); KF6 unescapes every key once (`a\sb`).
fn parse_entry(content: &[u8], span: Range<usize>, generation: Generation) -> LineKind {
    let equals = content[span.clone()].iter().position(|&b| b == b'=').map(|at| span.start + at);
    let (key_span, value) = match equals {
        Some(at) => {
            (trim_range(content, span.start..at, generation), trim_range(content, at + 1..span.end, generation))
        }
        None => (span.clone(), span.end..span.end),
    };
    if key_span.is_empty() {
        return LineKind::Ignored;
    }
    let mut key_text = key_span.clone();
    let (mut immutable, mut expand, mut locale) = (false, false, None);
    while let Some(open) = content[key_text.clone()].iter().rposition(|&b| b == b'[') {
        let open = key_text.start + open;
        let Some(close) = content[open..key_text.end].iter().position(|&b| b == b']') else {
            return LineKind::Ignored;
        };
        let close = open + close;
        if close > open + 1 && content[open + 1] == b'$' {
            for &option in &content[open + 2..close] {
                match option {
                    b'i' => immutable = true,
                    b'e' => expand = true,
                    b'd' => {
                        return LineKind::Entry(EntryLine {
                            key: unescape(&content[key_text.start..open]).into_owned(),
                            locale: None,
                            immutable,
                            expand,
                            deleted: true,
                            key_end: key_span.end,
                            value,
                        })
                    }
                    _ => {}
                }
            }
        } else if locale.is_some() {
            return LineKind::Ignored;
        } else {
            locale = Some(open + 1..close);
        }
        key_text.end = open;
    }
    if equals.is_none() {
        return LineKind::Ignored;
    }
    let key = match generation {
        Generation::Kf5 => unescape(&unescape(&content[key_text])).into_owned(),
        Generation::Kf6 => unescape(&content[key_text]).into_owned(),
    };
    LineKind::Entry(EntryLine { key, locale, immutable, expand, deleted: false, key_end: key_span.end, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &[u8]) -> LineKind {
        Line::parse(text.to_vec(), Generation::Kf5).kind
    }

    fn header(text: &str) -> Option<(String, ImmutableMark)> {
        match kind(text.as_bytes()) {
            LineKind::Header(Header { group, mark }) => {
                Some((String::from_utf8(group).expect("UTF-8").replace('\x1d', "|"), mark))
            }
            _ => None,
        }
    }

    /// (key, locale, immutable, expand, deleted, value) of an entry line.
    fn entry(text: &str) -> Option<(String, Option<String>, bool, bool, bool, String)> {
        let line = Line::parse(text.as_bytes().to_vec(), Generation::Kf5);
        let LineKind::Entry(entry) = &line.kind else {
            return None;
        };
        let show = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).expect("UTF-8");
        Some((
            show(&entry.key),
            entry.locale_tag(line.content()).map(show),
            entry.immutable,
            entry.expand,
            entry.deleted,
            show(&line.content()[entry.value.clone()]),
        ))
    }

    #[test]
    fn blank_and_comment_lines() {
        for text in [&b""[..], b"\n", b" \t\r\n", b"\r"] {
            assert_eq!(kind(text), LineKind::Blank);
        }
        for text in [&b"# c\n"[..], b"  #k=v", b"\t#"] {
            assert_eq!(kind(text), LineKind::Comment);
        }
        assert!(matches!(kind(b"\x0b[A]"), LineKind::Ignored), "a vertical tab is not blank");
    }

    #[test]
    fn headers_as_kf5_reads_them() {
        use ImmutableMark::{File, Group, None};
        assert_eq!(header("[General]\n"), Some(("General".into(), None)));
        assert_eq!(header("  [A][B]  \r\n"), Some(("A|B".into(), None)));
        assert_eq!(header("[A][$i]"), Some(("A".into(), Group)));
        assert_eq!(header("[$i]"), Some(("".into(), File)));
        assert_eq!(header("[][$i]"), Some(("".into(), File)));
        assert_eq!(header("[$i][A]"), Some(("$i|A".into(), None)));
        assert_eq!(header("[A][$i]x"), Some(("A|$i".into(), None)));
        assert_eq!(header("[A]junk [B]"), Some(("A".into(), None)));
        assert_eq!(header("[]"), Some(("".into(), None)));
        assert_eq!(header("[][B]"), Some(("B".into(), None)));
        assert_eq!(header("[A][]"), Some(("A|".into(), None)));
        assert_eq!(header("[ A ]"), Some((" A ".into(), None)));
        assert_eq!(header("[ A\\s ]"), Some(("A ".into(), None)));
        assert_eq!(header("[A\\x5dB][\\x24i]"), Some(("A]B|$i".into(), None)));
        for broken in ["[Bad", "[A][B", "[A][", "["] {
            assert!(matches!(kind(broken.as_bytes()), LineKind::BrokenHeader), "{broken}");
        }
    }

    #[test]
    fn entries_as_kf5_reads_them() {
        let plain = |key: &str, value: &str| Some((key.into(), None, false, false, false, value.into()));
        assert_eq!(entry(" key = some value \r\n"), plain("key", "some value"));
        assert_eq!(entry("a=b=c"), plain("a", "b=c"));
        assert_eq!(entry("k="), plain("k", ""));
        assert_eq!(entry(";k=1"), plain(";k", "1"));
        assert_eq!(entry("k [de]=1"), Some(("k ".into(), Some("de".into()), false, false, false, "1".into())));
        assert_eq!(entry("k[x]y=1"), Some(("k".into(), Some("x".into()), false, false, false, "1".into())));
        assert_eq!(entry("k[]=1"), Some(("k".into(), Some("".into()), false, false, false, "1".into())));
        assert_eq!(entry("k[$ie][de]=$HOME"), Some(("k".into(), Some("de".into()), true, true, false, "$HOME".into())));
        assert_eq!(entry("k[$x][$]=1"), plain("k", "1"));
        // Keys are unescaped twice: `\\s` -> `\s` -> ` `.
        assert_eq!(entry("a\\\\sb=1"), plain("a b", "1"));
        assert_eq!(entry("\\\\=1"), plain("", "1"));
    }

    #[test]
    fn deleted_entries_stop_at_their_bracket() {
        let deleted = |key: &str, immutable| Some((key.into(), None, immutable, false, true, String::new()));
        assert_eq!(entry("k[$d]"), deleted("k", false));
        assert_eq!(entry("k[$d]=ignored").map(|entry| entry.4), Some(true));
        assert_eq!(entry("k[de][$d]"), deleted("k[de]", false));
        assert_eq!(entry("k[$d][de]"), deleted("k", false));
        assert_eq!(entry("k[$d][$i]"), deleted("k", true));
        // Unescaped once only, unlike other keys.
        assert_eq!(entry("a\\\\sb[$d]"), deleted("a\\sb", false));
    }

    #[test]
    fn lines_kf5_skips() {
        for text in ["no equals", "=v", " = v", "k[=v", "k[de][fr]=v", "k[$i]"] {
            assert!(matches!(kind(text.as_bytes()), LineKind::Ignored), "{text}");
        }
    }

    #[test]
    fn key_end_and_value_span_point_into_the_content() {
        let line = Line::parse(b"  key[$i] =  v a l  \r\n".to_vec(), Generation::Kf5);
        let LineKind::Entry(entry) = &line.kind else { panic!("an entry") };
        assert_eq!(line.content(), b"  key[$i] =  v a l  ");
        assert_eq!(line.ending(), b"\r\n");
        assert_eq!(&line.content()[..entry.key_end], b"  key[$i]");
        assert_eq!(&line.content()[entry.value.clone()], b"v a l");
    }

    #[test]
    fn every_carriage_return_is_dropped() {
        assert_eq!(entry("k\r=a\rb\r\r\n"), Some(("k".into(), None, false, false, false, "ab".into())));
        assert_eq!(header("[A]\r[B]"), Some(("A|B".into(), ImmutableMark::None)));
        assert_eq!(header("[A][$\ri]\r"), Some(("A".into(), ImmutableMark::Group)));
        let line = Line::parse(b"k=a\rb\r".to_vec(), Generation::Kf5);
        assert_eq!((line.content(), line.ending()), (&b"k=ab"[..], &b""[..]));
    }

    /// As kreadconfig6 6.13 read them in the Plasma 6 guest (tests/kconfig_peer.rs there).
    #[test]
    fn kf6_trims_all_ascii_whitespace_and_unescapes_keys_once() {
        let key = |text: &[u8], generation| match Line::parse(text.to_vec(), generation).kind {
            LineKind::Entry(entry) => Some(String::from_utf8(entry.key).unwrap()),
            _ => None,
        };
        assert_eq!(key(b"a\\\\sb=1", Generation::Kf5).as_deref(), Some("a b"));
        assert_eq!(key(b"a\\\\sb=1", Generation::Kf6).as_deref(), Some("a\\sb"));
        assert_eq!(key(b"\x0bvk\x0b=1", Generation::Kf6).as_deref(), Some("vk"));
        assert_eq!(key(b"\x0bvk\x0b=1", Generation::Kf5).as_deref(), Some("\x0bvk\x0b"));
        // KF5 reads `\\\\` as an empty key (a group marker); KF6 as the key `\\`.
        assert_eq!(key(b"\\\\[$i]=x", Generation::Kf5).as_deref(), Some(""));
        assert_eq!(key(b"\\\\[$i]=x", Generation::Kf6).as_deref(), Some("\\"));
        let line = Line::parse(b"v=\x0b\x0c x \x0c\x0b".to_vec(), Generation::Kf6);
        let LineKind::Entry(entry) = &line.kind else { panic!("an entry") };
        assert_eq!(&line.content()[entry.value.clone()], b"x");
    }
}
