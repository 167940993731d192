import QtQuick
import QtQuick.Controls

// A small rounded label: a state, a verdict, an event count.
Rectangle {
    id: chip
    property alias text: label.text
    property color tint: palette.highlight

    implicitWidth: label.implicitWidth + 14
    implicitHeight: label.implicitHeight + 4
    radius: height / 2
    color: Qt.rgba(tint.r, tint.g, tint.b, 0.16)
    border.color: Qt.rgba(tint.r, tint.g, tint.b, 0.55)

    Label {
        id: label
        anchors.centerIn: parent
        font.pointSize: Qt.application.font.pointSize * 0.85
        font.weight: Font.DemiBold
        color: Qt.tint(palette.windowText, Qt.rgba(chip.tint.r, chip.tint.g, chip.tint.b, 0.45))
    }
}
