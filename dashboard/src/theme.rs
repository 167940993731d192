//! Which palette the window gets: Breeze Light or Dark by request (screenshots, `--dark`),
//! otherwise the Plasma color scheme in kdeglobals, otherwise whatever the platform gives.

use crate::palette::PaletteColors;
use ballast::kconfig::Document;
use std::path::{Path, PathBuf};

/// Breeze Light, as Plasma 5.27 ships it.
pub const BREEZE_LIGHT: PaletteColors = PaletteColors {
    window: 0xeff0f1,
    window_text: 0x232629,
    base: 0xfcfcfc,
    alternate_base: 0xeff0f1,
    text: 0x232629,
    button: 0xeff0f1,
    button_text: 0x232629,
    highlight: 0x3daee9,
    highlighted_text: 0xfcfcfc,
    link: 0x2980b9,
    tool_tip_base: 0xf7f7f7,
    tool_tip_text: 0x232629,
    inactive_text: 0x7f8c8d,
};

/// Breeze Dark, as Plasma 5.27 ships it.
pub const BREEZE_DARK: PaletteColors = PaletteColors {
    window: 0x31363b,
    window_text: 0xeff0f1,
    base: 0x1b1e20,
    alternate_base: 0x232629,
    text: 0xeff0f1,
    button: 0x31363b,
    button_text: 0xeff0f1,
    highlight: 0x3daee9,
    highlighted_text: 0xeff0f1,
    link: 0x1d99f3,
    tool_tip_base: 0x31363b,
    tool_tip_text: 0xeff0f1,
    inactive_text: 0xbdc3c7,
};

/// The user's kdeglobals: $XDG_CONFIG_HOME, else ~/.config.
pub fn kdeglobals_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("kdeglobals"))
}

/// The color scheme in a kdeglobals file; None when it names none (Plasma's default then
/// comes from the platform) or the file cannot be read.
pub fn scheme_colors(kdeglobals: &Path) -> Option<PaletteColors> {
    let document = Document::parse(&std::fs::read(kdeglobals).ok()?);
    let color = |group: &str, key: &str| -> Option<u32> {
        let entry = document.get(group, key)?;
        let text = String::from_utf8_lossy(&entry.value).into_owned();
        let parts: Vec<u32> =
            text.split(',').map(|p| p.trim().parse::<u32>().ok().filter(|v| *v <= 255)).collect::<Option<_>>()?;
        match parts[..] {
            [r, g, b] | [r, g, b, _] => Some(r << 16 | g << 8 | b),
            _ => None,
        }
    };
    Some(PaletteColors {
        window: color("Colors:Window", "BackgroundNormal")?,
        window_text: color("Colors:Window", "ForegroundNormal")?,
        base: color("Colors:View", "BackgroundNormal")?,
        alternate_base: color("Colors:View", "BackgroundAlternate")?,
        text: color("Colors:View", "ForegroundNormal")?,
        button: color("Colors:Button", "BackgroundNormal")?,
        button_text: color("Colors:Button", "ForegroundNormal")?,
        highlight: color("Colors:Selection", "BackgroundNormal")?,
        highlighted_text: color("Colors:Selection", "ForegroundNormal")?,
        link: color("Colors:View", "ForegroundLink")?,
        tool_tip_base: color("Colors:Tooltip", "BackgroundNormal")?,
        tool_tip_text: color("Colors:Tooltip", "ForegroundNormal")?,
        inactive_text: color("Colors:View", "ForegroundInactive")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_breeze_dark_scheme_and_refuses_a_partial_one() {
        let dir = std::env::temp_dir().join(format!("ballast-dashboard-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kdeglobals");
        let groups = [
            ("Window", "BackgroundNormal=49,54,59\nForegroundNormal=239,240,241"),
            ("View", "BackgroundNormal=27,30,32\nBackgroundAlternate=35,38,41\nForegroundNormal=239,240,241\nForegroundLink=29,153,243\nForegroundInactive=189,195,199"),
            ("Button", "BackgroundNormal=49,54,59\nForegroundNormal=239,240,241"),
            ("Selection", "BackgroundNormal=61,174,233\nForegroundNormal=239,240,241"),
            ("Tooltip", "BackgroundNormal=49,54,59\nForegroundNormal=239,240,241"),
        ];
        let text: String = groups.iter().map(|(group, keys)| format!("[Colors:{group}]\n{keys}\n\n")).collect();
        std::fs::write(&file, &text).unwrap();
        assert_eq!(scheme_colors(&file), Some(BREEZE_DARK));
        std::fs::write(&file, "[Colors:Window]\nBackgroundNormal=49,54,59\n").unwrap();
        assert_eq!(scheme_colors(&file), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
