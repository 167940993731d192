import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// Apps running in ballast's scopes: use against MemoryHigh (mark) and MemoryMax (the bar's
// end), limit hits and OOM kills, and the choices of a notification: Freeze (Thaw when
// frozen), More (MemoryHigh and MemoryMax +25 %) and Stop.
Card {
    id: card
    property var scopes: []
    // choice: freeze | thaw | give-more | stop.
    signal chooseRequested(string unit, string choice)

    title: "Running apps"
    subtitle: scopes.length === 0 ? "" : scopes.length + (scopes.length === 1 ? " scope" : " scopes")

    Label {
        visible: card.scopes.length === 0
        Layout.fillWidth: true
        text: "No app runs in a ballast scope. Start one from Launch to keep it inside its limits."
        opacity: 0.7
        wrapMode: Text.WordWrap
    }

    Repeater {
        model: card.scopes
        delegate: RowLayout {
            required property var modelData
            objectName: "scope-" + modelData.unit
            Layout.fillWidth: true
            spacing: 14

            ColumnLayout {
                Layout.fillWidth: true
                spacing: 3
                RowLayout {
                    Layout.fillWidth: true
                    Label { text: modelData.name; font.weight: Font.DemiBold }
                    Label { Layout.fillWidth: true; text: modelData.unit; opacity: 0.55; elide: Text.ElideMiddle; font.pointSize: Qt.application.font.pointSize * 0.85 }
                    Chip { objectName: "frozenChip"; visible: modelData.frozen; text: "frozen"; tint: Style.information }
                    Chip { text: modelData.eventsText; tint: Style.statusColor(modelData.eventsLevel) }
                }
                Item {
                    Layout.fillWidth: true
                    implicitHeight: 10
                    Rectangle {
                        anchors.fill: parent
                        radius: 3
                        color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.08)
                    }
                    Rectangle {
                        width: parent.width * modelData.usedFraction
                        height: parent.height
                        radius: 3
                        color: modelData.usedFraction >= modelData.highMark && modelData.highMark > 0 ? Style.neutral : Style.used
                    }
                    Rectangle {
                        visible: modelData.highMark > 0
                        x: parent.width * modelData.highMark - 1
                        y: -2
                        width: 2
                        height: parent.height + 4
                        color: palette.windowText
                        opacity: 0.7
                    }
                }
                Label {
                    text: modelData.usedText + " used · MemoryHigh " + modelData.highText + " · MemoryMax " + modelData.maxText
                    opacity: 0.75
                    font.pointSize: Qt.application.font.pointSize * 0.9
                }
            }
            Button {
                objectName: modelData.frozen ? "thaw" : "freeze"
                text: modelData.frozen ? "Thaw" : "Freeze"
                icon.name: modelData.frozen ? "media-playback-start" : "media-playback-pause"
                onClicked: card.chooseRequested(modelData.unit, modelData.frozen ? "thaw" : "freeze")
                ToolTip.visible: hovered
                ToolTip.text: modelData.frozen ? "Let it run again" : "Keep its memory, use no CPU until thawed"
            }
            Button {
                objectName: "giveMore"
                text: "More"
                icon.name: "list-add"
                onClicked: card.chooseRequested(modelData.unit, "give-more")
                ToolTip.visible: hovered
                ToolTip.text: "MemoryHigh and MemoryMax +25 % until it stops, within the workload budget"
            }
            Button {
                objectName: "stop"
                text: "Stop"
                icon.name: "process-stop"
                onClicked: card.chooseRequested(modelData.unit, "stop")
            }
        }
    }
}
