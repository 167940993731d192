#include "ballast-dashboard/src/palette.cxxqt.h"

#include <QtGui/QGuiApplication>
#include <QtGui/QPalette>

void setApplicationPalette(const PaletteColors& colors)
{
    // The two-color constructor derives the bevel roles (Light, Mid, Dark, Shadow) from Button.
    QPalette palette(QColor::fromRgb(colors.button), QColor::fromRgb(colors.window));
    const auto set = [&palette](QPalette::ColorRole role, std::uint32_t rgb) {
        palette.setColor(QPalette::All, role, QColor::fromRgb(rgb));
    };
    set(QPalette::WindowText, colors.window_text);
    set(QPalette::Base, colors.base);
    set(QPalette::AlternateBase, colors.alternate_base);
    set(QPalette::Text, colors.text);
    set(QPalette::ButtonText, colors.button_text);
    set(QPalette::BrightText, colors.highlighted_text);
    set(QPalette::Highlight, colors.highlight);
    set(QPalette::HighlightedText, colors.highlighted_text);
    set(QPalette::Link, colors.link);
    set(QPalette::ToolTipBase, colors.tool_tip_base);
    set(QPalette::ToolTipText, colors.tool_tip_text);
    set(QPalette::PlaceholderText, colors.inactive_text);
    for (const auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText}) {
        palette.setColor(QPalette::Disabled, role, QColor::fromRgb(colors.inactive_text));
    }
    QGuiApplication::setPalette(palette);
}
