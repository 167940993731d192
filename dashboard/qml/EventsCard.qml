import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// The event log, newest first: the kills and why (the kernel's, systemd-oomd's), and what
// was chosen for apps near their limits (`ballast events` prints the same).
Card {
    id: card
    property var events: []

    title: "Kills and choices"
    subtitle: events.length === 0 ? "" : "newest first"

    Label {
        visible: card.events.length === 0
        Layout.fillWidth: true
        text: "No app was killed for memory, and nothing was frozen or stopped here."
        opacity: 0.7
        wrapMode: Text.WordWrap
    }

    Repeater {
        model: card.events
        delegate: ColumnLayout {
            required property var modelData
            required property int index
            objectName: "event-" + index
            Layout.fillWidth: true
            spacing: 2
            RowLayout {
                Layout.fillWidth: true
                Chip { text: modelData.what; tint: Style.statusColor(modelData.level) }
                Label { text: modelData.who; font.weight: Font.DemiBold }
                Label { Layout.fillWidth: true; text: modelData.agoText; opacity: 0.55; horizontalAlignment: Text.AlignRight }
            }
            Label {
                objectName: "why"
                Layout.fillWidth: true
                text: modelData.why
                opacity: 0.75
                wrapMode: Text.WordWrap
                font.pointSize: Qt.application.font.pointSize * 0.9
            }
        }
    }
}
