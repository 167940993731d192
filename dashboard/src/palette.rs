//! The application palette, set from Rust: Breeze Light or Dark for screenshots, the
//! Plasma color scheme (kdeglobals) for the live window where Qt 6 has no KDE platform
//! theme to apply it (Plasma 5 desktops).

#[cxx_qt::bridge]
pub mod ffi {
    /// Colors as 0xRRGGBB, one per QPalette role the controls use.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct PaletteColors {
        window: u32,
        window_text: u32,
        base: u32,
        alternate_base: u32,
        text: u32,
        button: u32,
        button_text: u32,
        highlight: u32,
        highlighted_text: u32,
        link: u32,
        tool_tip_base: u32,
        tool_tip_text: u32,
        /// Inactive text: placeholders and disabled controls.
        inactive_text: u32,
    }

    unsafe extern "C++" {
        include!("ballast-dashboard/src/palette.h");
        /// QGuiApplication::setPalette; call after the application exists.
        #[cxx_name = "setApplicationPalette"]
        fn set_application_palette(colors: &PaletteColors);
    }
}

pub use ffi::{set_application_palette, PaletteColors};
