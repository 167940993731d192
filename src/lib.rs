//! ballast: keeps a KDE Plasma desktop inside a memory budget.
//!
//! Pure logic (`profile`, `budget`) takes data and returns data; readers in `sample`
//! take an injectable root so tests point them at fixture trees.

#![warn(missing_docs)]

pub mod agent;
pub mod atomic;
pub mod budget;
pub mod doctor;
pub mod events;
pub mod gpu;
pub mod kconfig;
pub mod launch;
pub mod profile;
pub mod protect;
pub mod render;
pub mod sample;
pub mod tray;
pub mod tune;
pub mod usage;
pub mod xdg;
