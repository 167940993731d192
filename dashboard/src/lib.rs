//! The ballast dashboard: the agent's report in a Qt Quick window. Everything it shows comes
//! from the agent's D-Bus API (io.ballast.Agent1); it samples nothing itself and keeps no
//! state beyond the window, so closing it gives all its memory back.
//!
//! `view` works the figures out (pure), `bridge` hands them to QML, `agent` talks D-Bus on
//! its own thread, `window` starts Qt.

pub mod agent;
pub mod bridge;
// cxx-qt allows no attribute on a bridge; its generated code names std types in full.
#[allow(unused_qualifications)]
pub mod palette;
pub mod qvariant;
pub mod report;
pub mod theme;
pub mod view;
pub mod window;
