//! ballast: keeps a KDE Plasma desktop inside a memory budget.
//!
//! Pure logic (`profile`, `budget`) takes data and returns data; readers in `sample`
//! take an injectable root so tests point them at fixture trees.

pub mod budget;
pub mod doctor;
pub mod profile;
pub mod render;
pub mod sample;
pub mod launch;
pub mod kconfig;
pub mod tune;
pub mod tray;
pub mod agent;
pub mod gpu;
