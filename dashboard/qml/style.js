.pragma library

// Colors that mean the same in light and dark palettes (Breeze's accents).

var positive = "#27ae60";
var neutral = "#f67400";
var negative = "#da4453";
var information = "#3daee9";

var used = "#3daee9";
var zram = "#9b59b6";
var pressure = "#f67400";
var other = "#95a5a6";

// One per category, in profile order (kernel, services, Plasma, audio, Electron, browser, dev tools...).
var categoryColors = ["#7f8c8d", "#16a085", "#3daee9", "#9b59b6", "#f67400", "#fdbc4b", "#e05d8e", "#1cdc9a"];

function categoryColor(index) {
    return index < 0 ? other : categoryColors[index % categoryColors.length];
}

// A light shade of the text color: cache and other reclaimable memory.
function shade(ink, alpha) {
    return Qt.rgba(ink.r, ink.g, ink.b, alpha);
}

// A piece of the RAM bar; `ink` is the palette's text color.
function segmentColor(segment, ink) {
    switch (segment.kind) {
    case "cache": return shade(ink, 0.14);
    case "zram": return zram;
    default: return categoryColor(segment.colorIndex);
    }
}

// A report status, scope event level or doctor verdict as a color.
function statusColor(status) {
    switch (status) {
    case "breach": case "FAIL": case "error": return negative;
    case "near": case "WARN": case "warning": return neutral;
    case "ok": case "PASS": return positive;
    default: return other;
    }
}
