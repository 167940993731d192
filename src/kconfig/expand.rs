//! `$VAR` expansion of `key[$e]=` values, as KF5's `KConfigPrivate::expandString` does it.

/// Expands `$NAME` (letters, digits, `_`) and `${NAME}` from `env`; an unset or empty
/// variable expands to nothing. `$$` is a literal `$`, a `$` followed by no name is
/// dropped (so `$(cmd)` reads as `(cmd)` and is never run), a trailing `$` stays, an
/// unclosed `${` runs to the end. Expanded text is not expanded again.
pub(super) fn expand<V: AsRef<[u8]>>(value: &[u8], env: &impl Fn(&str) -> Option<V>) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some(dollar) = rest.iter().position(|&byte| byte == b'$') {
        out.extend_from_slice(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed): (&[u8], usize) = match after.first() {
            // A trailing `$` stays; `$$` is one literal `$`.
            None | Some(b'$') => {
                out.push(b'$');
                (b"", after.len().min(1))
            }
            Some(b'{') => {
                let close = after.iter().position(|&byte| byte == b'}');
                let name = &after[1..close.unwrap_or(after.len())];
                (name, close.map_or(after.len(), |close| close + 1))
            }
            Some(_) => {
                let length = name_length(after);
                (&after[..length], length)
            }
        };
        if !name.is_empty() {
            out.extend_from_slice(&lookup(name, env));
        }
        rest = &after[consumed..];
    }
    out.extend_from_slice(rest);
    out
}

/// Length of the variable name at the start of `text`. Qt tests UTF-16 units, so a
/// character outside the BMP ends the name.
fn name_length(text: &[u8]) -> usize {
    let mut length = 0;
    for chunk in text.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let is_name = ch == '_' || (ch <= '\u{ffff}' && (ch.is_alphabetic() || ch.is_numeric()));
            if !is_name {
                return length;
            }
            length += ch.len_utf8();
        }
        if !chunk.invalid().is_empty() {
            return length;
        }
    }
    length
}

/// A variable's value; like Qt, the `QT_*_HOME` names fall back to the XDG directories.
fn lookup<V: AsRef<[u8]>>(name: &[u8], env: &impl Fn(&str) -> Option<V>) -> Vec<u8> {
    let Ok(name) = std::str::from_utf8(name) else {
        return Vec::new();
    };
    let get = |name: &str| env(name).map(|value| value.as_ref().to_vec()).filter(|value| !value.is_empty());
    if let Some(value) = get(name) {
        return value;
    }
    let (xdg_variable, home_relative) = match name {
        "QT_DATA_HOME" => ("XDG_DATA_HOME", "/.local/share"),
        "QT_CONFIG_HOME" => ("XDG_CONFIG_HOME", "/.config"),
        "QT_CACHE_HOME" => ("XDG_CACHE_HOME", "/.cache"),
        _ => return Vec::new(),
    };
    get(xdg_variable).unwrap_or_else(|| {
        // QDir::homePath(): $HOME without trailing slashes, or `/`.
        let mut home = get("HOME").unwrap_or_else(|| b"/".to_vec());
        while home.len() > 1 && home.last() == Some(&b'/') {
            home.pop();
        }
        home.extend_from_slice(home_relative.as_bytes());
        home
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(value: &str) -> String {
        let env = |name: &str| match name {
            "FOO" => Some("foo"),
            "A_1" => Some("a1"),
            "EMPTY" => Some(""),
            "HOME" => Some("/home/u/"),
            "XDG_CONFIG_HOME" => Some("/xdg/config"),
            _ => None,
        };
        String::from_utf8(expand(value.as_bytes(), &env)).expect("UTF-8")
    }

    #[test]
    fn expands_like_kreadconfig5() {
        let cases = [
            ("$FOO/x", "foo/x"),
            ("${FOO}x", "foox"),
            ("$FOOx", ""),
            ("$A_1-", "a1-"),
            ("$$FOO", "$FOO"),
            ("$$$FOO", "$foo"),
            ("$", "$"),
            ("x$", "x$"),
            ("$$", "$"),
            ("$$$", "$$"),
            ("$(echo hi)", "(echo hi)"),
            ("$ x", " x"),
            ("${}x", "x"),
            ("${FOO", "foo"),
            ("${FOO/x", ""),
            ("${FOO}}", "foo}"),
            ("$EMPTY.", "."),
            ("$UNSET.", "."),
            ("$FOO$FOO", "foofoo"),
            ("$été", ""),
            ("$FOO\u{1F600}", "foo\u{1F600}"),
            ("$QT_CONFIG_HOME/x", "/xdg/config/x"),
            ("$QT_CACHE_HOME", "/home/u/.cache"),
        ];
        for (value, result) in cases {
            assert_eq!(expanded(value), result, "expanding {value:?}");
        }
    }

    #[test]
    fn expanded_text_is_not_expanded_again() {
        let env = |name: &str| (name == "A").then_some("$A");
        assert_eq!(expand(b"$A", &env), b"$A");
    }

    #[test]
    fn invalid_utf8_ends_a_name() {
        let env = |name: &str| (name == "FOO").then_some("foo");
        assert_eq!(expand(b"$FOO\xff", &env), b"foo\xff");
        assert_eq!(expand(b"$\xff", &env), b"\xff");
    }
}
