//! A config name read the way KDE programs read it: the file of that name in each
//! `$XDG_CONFIG_DIRS` entry (default `/etc/xdg`), the least important first, then the user's
//! own in `$XDG_CONFIG_HOME` (KConfigPrivate::parseConfigFiles). Later files override
//! earlier ones, except where an earlier file locks: a key with `[$i]`, a `[Group][$i]`
//! header, or a `[$i]` line before any group, which ends the reading (KDE's Kiosk).

use super::document::{Document, Entry};
use super::resolve::{Locale, Resolved};

/// How much an immutable mark locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockLevel {
    /// `[$i]` before any group: no later file is read.
    File,
    /// `[Group][$i]`: the group's sections in later files are skipped.
    Group,
    /// `key[$i]=`: later lines of the key are ignored.
    Key,
}

/// What stops the files above `file` from changing a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The locking file's place in the stack (0: the least important).
    pub file: usize,
    /// How much the mark locks.
    pub level: LockLevel,
}

/// The value a program reads and the file of the stack it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective<'a> {
    /// The entry a program reads.
    pub entry: Entry<'a>,
    /// The place in the stack of the file it comes from (0: the least important).
    pub file: usize,
}

/// Documents stacked as KConfig reads them: `files[0]` the least important, the last the
/// user's own.
pub struct Cascade<'a> {
    files: Vec<&'a Document>,
}

impl<'a> Cascade<'a> {
    /// Stacks `files`, the least important first and the user's own last.
    pub fn new(files: Vec<&'a Document>) -> Self {
        Self { files }
    }

    fn resolved(&self, count: usize) -> Resolved<'a> {
        let lines: Vec<_> = self.files[..count].iter().map(|d| d.lines()).collect();
        Resolved::stack(&lines, &Locale::C)
    }

    /// The untranslated key as a program reads it (kreadconfig under `LC_ALL=C`); None
    /// when no file sets it or the last word is a `[$d]`.
    pub fn get(&self, group: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Option<Effective<'a>> {
        let stored =
            self.resolved(self.files.len()).untranslated(group.as_ref(), key.as_ref()).filter(|s| !s.entry.deleted)?;
        Some(Effective { file: stored.file, entry: Entry::from(stored) })
    }

    /// What locks the key against the last file (the user's): the first file below it whose
    /// marks leave the last file no say over the key.
    pub fn lock(&self, group: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Option<Lock> {
        let (group, key) = (group.as_ref(), key.as_ref());
        (1..self.files.len()).find_map(|count| {
            let resolved = self.resolved(count);
            let file = count - 1;
            if resolved.file_immutable {
                Some(Lock { file, level: LockLevel::File })
            } else if resolved.is_group_immutable(group) {
                Some(Lock { file, level: LockLevel::Group })
            } else {
                resolved
                    .untranslated(group, key)
                    .filter(|s| s.immutable)
                    .map(|s| Lock { file: s.file, level: LockLevel::Key })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(texts: &[&str]) -> Vec<Document> {
        texts.iter().map(|t| Document::parse(t.as_bytes())).collect()
    }

    fn read(documents: &[Document], group: &str, key: &str) -> Option<(String, usize)> {
        let effective = Cascade::new(documents.iter().collect()).get(group, key)?;
        Some((String::from_utf8(effective.entry.value.into_owned()).unwrap(), effective.file))
    }

    #[test]
    fn the_users_file_overrides_the_system_ones() {
        let files = stack(&[
            "[Compositing]\nBackend=XRender\nGLTextureFilter=2\n",
            "[Compositing]\nBackend=OpenGL\n",
            "[Compositing]\nGLTextureFilter=1\n",
        ]);
        assert_eq!(read(&files, "Compositing", "Backend"), Some(("OpenGL".into(), 1)));
        assert_eq!(read(&files, "Compositing", "GLTextureFilter"), Some(("1".into(), 2)));
        assert_eq!(Cascade::new(files.iter().collect()).lock("Compositing", "Backend"), None);
        // `[$d]` in the user's file hides the system value.
        let deleted = stack(&["[A]\nk=1\n", "[A]\nk[$d]\n"]);
        assert_eq!(read(&deleted, "A", "k"), None);
    }

    #[test]
    fn locks_below_the_users_file_hold() {
        // `[$i]` before any group: the user's file is not read at all.
        let file =
            stack(&["[$i]\n[Compositing]\nBackend=XRender\n", "[Compositing]\nBackend=OpenGL\nGLTextureFilter=1\n"]);
        assert_eq!(read(&file, "Compositing", "Backend"), Some(("XRender".into(), 0)));
        assert_eq!(read(&file, "Compositing", "GLTextureFilter"), None);
        assert_eq!(
            Cascade::new(file.iter().collect()).lock("Plugins", "x"),
            Some(Lock { file: 0, level: LockLevel::File })
        );
        // `[Compositing][$i]` in a system file: the user's section is skipped.
        let group = stack(&[
            "[Compositing][$i]\nGLTextureFilter=2\n",
            "[Other]\nk=v\n",
            "[Compositing]\nGLTextureFilter=1\nBackend=OpenGL\n",
        ]);
        assert_eq!(read(&group, "Compositing", "GLTextureFilter"), Some(("2".into(), 0)));
        assert_eq!(read(&group, "Compositing", "Backend"), None);
        assert_eq!(
            Cascade::new(group.iter().collect()).lock("Compositing", "Backend"),
            Some(Lock { file: 0, level: LockLevel::Group })
        );
        assert_eq!(Cascade::new(group.iter().collect()).lock("Other", "k"), None);
        // `key[$i]` locks that key only.
        let key = stack(&[
            "[KDE]\nAnimationDurationFactor[$i]=1\n",
            "[KDE]\nAnimationDurationFactor=0.5\nSingleClick=false\n",
        ]);
        assert_eq!(read(&key, "KDE", "AnimationDurationFactor"), Some(("1".into(), 0)));
        assert_eq!(read(&key, "KDE", "SingleClick"), Some(("false".into(), 1)));
        let cascade = Cascade::new(key.iter().collect());
        assert_eq!(cascade.lock("KDE", "AnimationDurationFactor"), Some(Lock { file: 0, level: LockLevel::Key }));
        assert_eq!(cascade.lock("KDE", "SingleClick"), None);
    }
}
