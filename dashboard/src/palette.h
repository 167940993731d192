#pragma once

struct PaletteColors;

// Sets the application palette from the given role colors (see palette.rs).
void setApplicationPalette(const PaletteColors& colors);
