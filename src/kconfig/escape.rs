//! KConfig's escape sequences in both directions, and its notion of blank.

use std::borrow::Cow;
use std::ops::Range;

use super::Generation;

/// The bytes KConfig trims from lines, keys, values and group names: KF5's parser trims
/// spaces and tabs but keeps `\v` and `\f`; KF6's trims all ASCII whitespace
/// (QByteArrayView::trimmed).
fn is_blank(byte: u8, generation: Generation) -> bool {
    match generation {
        Generation::Kf5 => matches!(byte, b' ' | b'\t' | b'\r'),
        Generation::Kf6 => matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c'),
    }
}

/// `range` of `text` without blank bytes at either end.
pub(super) fn trim_range(text: &[u8], range: Range<usize>, generation: Generation) -> Range<usize> {
    let Range { mut start, mut end } = range;
    while start < end && is_blank(text[start], generation) {
        start += 1;
    }
    while end > start && is_blank(text[end - 1], generation) {
        end -= 1;
    }
    start..end
}

/// Decodes escapes the way KF5's `printableToString` does, quirks included:
/// `\;` and `\,` stay as written, an unknown escape `\q` becomes a lone `\`,
/// a bad `\xZZ` becomes `x`, and a trailing backslash is dropped. The text is
/// trimmed first, but only when it contains a backslash.
pub(super) fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let text = &raw[trim_range(raw, 0..raw.len(), Generation::Kf5)];
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let byte = text[i];
        i += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&escaped) = text.get(i) else {
            break;
        };
        i += 1;
        match escaped {
            b's' => out.push(b' '),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            b';' | b',' => out.extend_from_slice(&[b'\\', escaped]),
            b'x' if i + 2 <= text.len() => {
                out.push(hex_byte(text[i], text[i + 1]).unwrap_or(b'x'));
                i += 2;
            }
            // Fewer than two digits left: KConfig writes `x` and stops.
            b'x' => {
                out.push(b'x');
                break;
            }
            _ => out.push(b'\\'),
        }
    }
    Cow::Owned(out)
}

fn hex_byte(high: u8, low: u8) -> Option<u8> {
    let digit = |byte: u8| (byte as char).to_digit(16);
    Some((digit(high)? * 16 + digit(low)?) as u8)
}

/// Which part of a line a string is written into; each protects different bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Group,
    Key,
    Value,
}

/// Escapes bytes as KConfig's `stringToPrintable` writes them: `\s` for a leading or
/// trailing space (not in group names), `\n` `\t` `\r` `\\`, `\xNN` for other control
/// bytes, for `=` in keys, for `[` `]` outside values, and in values for DEL and bytes
/// that are not valid UTF-8. Unlike KConfig, a key starting with `#` gets `\x23`, which
/// keeps the line from reading as a comment, and a broken UTF-8 sequence before a
/// control byte is not reordered behind it.
pub(super) fn escape(bytes: &[u8], field: Field) -> Vec<u8> {
    // KConfig protects a leading space; a leading `#` would make a key line a comment.
    let escaped_first: Option<&[u8]> = match (field, bytes.first()) {
        (Field::Key | Field::Value, Some(b' ')) => Some(b"\\s"),
        (Field::Key, Some(b'#')) => Some(b"\\x23"),
        _ => None,
    };
    let mut out = Vec::with_capacity(bytes.len() + 4);
    let mut rest = bytes;
    if let Some(escaped) = escaped_first {
        out.extend_from_slice(escaped);
        rest = &bytes[1..];
    }
    for chunk in rest.utf8_chunks() {
        for ch in chunk.valid().chars() {
            escape_char(ch, field, &mut out);
        }
        for &byte in chunk.invalid() {
            if field == Field::Value {
                push_hex(byte, &mut out);
            } else {
                out.push(byte);
            }
        }
    }
    if field != Field::Group && out.last() == Some(&b' ') {
        out.pop();
        out.extend_from_slice(b"\\s");
    }
    out
}

fn escape_char(ch: char, field: Field, out: &mut Vec<u8>) {
    match ch {
        '\n' => out.extend_from_slice(b"\\n"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\\' => out.extend_from_slice(b"\\\\"),
        '=' if field == Field::Key => push_hex(b'=', out),
        '[' | ']' if field != Field::Value => push_hex(ch as u8, out),
        '\u{7f}' if field == Field::Value => push_hex(0x7f, out),
        _ if (ch as u32) < 0x20 => push_hex(ch as u8, out),
        _ => {
            let mut buffer = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
        }
    }
}

fn push_hex(byte: u8, out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', DIGITS[usize::from(byte >> 4)], DIGITS[usize::from(byte & 0xf)]]);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn unescaped(raw: &str) -> String {
        String::from_utf8(unescape(raw.as_bytes()).into_owned()).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn unescape_follows_kf5_including_its_quirks() {
        assert_eq!(unescaped("plain"), "plain");
        assert_eq!(unescaped("\\sa\\tb\\nc\\rd\\\\e\\s"), " a\tb\nc\rd\\e ");
        assert_eq!(unescaped("a\\;b\\,c"), "a\\;b\\,c");
        assert_eq!(unescaped("a\\qb\\sc"), "a\\b c");
        assert_eq!(unescaped("\\x41\\x6a"), "Aj");
        assert_eq!(unescaped("a\\xzzb"), "axb");
        assert_eq!(unescaped("a\\x4"), "ax");
        assert_eq!(unescaped("a\\x"), "ax");
        assert_eq!(unescaped("abc\\"), "abc");
        assert_eq!(unescaped(" \\sx\\s "), " x ");
        assert_eq!(unescaped(" no backslash "), " no backslash ");
    }

    #[test]
    fn trimming_leaves_vertical_tab_and_form_feed() {
        let text = b"\x0b\t x \r\x0c";
        assert_eq!(&text[trim_range(text, 0..text.len(), Generation::Kf5)], b"\x0b\t x \r\x0c");
        assert_eq!(&text[trim_range(text, 0..text.len(), Generation::Kf6)], b"x");
        let text = b" \t x \r";
        assert_eq!(&text[trim_range(text, 0..text.len(), Generation::Kf5)], b"x");
    }

    #[test]
    fn escape_writes_values_like_kwriteconfig5() {
        let cases: &[(&[u8], &str)] = &[
            (b" lead", "\\slead"),
            (b"trail ", "trail\\s"),
            (b"  ", "\\s\\s"),
            (b" ", "\\s"),
            (b"a\nb\tc\rd\\e", "a\\nb\\tc\\rd\\\\e"),
            (b"\x7f\x01", "\\x7f\\x01"),
            (b"[x]=y #z", "[x]=y #z"),
            ("ünï".as_bytes(), "ünï"),
            (b"bad \xff\xe2\x82 utf8", "bad \\xff\\xe2\\x82 utf8"),
        ];
        for (value, written) in cases {
            assert_eq!(String::from_utf8_lossy(&escape(value, Field::Value)), *written);
        }
    }

    #[test]
    fn escape_protects_key_and_group_syntax() {
        assert_eq!(escape(b" k=[x] ", Field::Key), b"\\sk\\x3d\\x5bx\\x5d\\s");
        assert_eq!(escape(b"#k", Field::Key), b"\\x23k");
        assert_eq!(escape(b"\xffk", Field::Key), b"\xffk");
        assert_eq!(escape(b" [g] ", Field::Group), b" \\x5bg\\x5d ");
    }

    proptest! {
        #[test]
        fn escaped_values_unescape_to_themselves(value in any::<Vec<u8>>()) {
            prop_assert_eq!(unescape(&escape(&value, Field::Value)).into_owned(), value);
        }
    }
}
