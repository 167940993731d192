import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// RAM as one bar: used memory by category, then zram's pool and the rest, then cache
// (reclaimable, drawn light); the idle and workload targets as marks above it.
ColumnLayout {
    id: bar
    property var segments: []
    property var summary: ({})

    spacing: 4

    Item {
        id: marks
        Layout.fillWidth: true
        implicitHeight: idleLabel.implicitHeight + 2

        Repeater {
            model: [
                { name: "idle", mark: bar.summary.idleMark, text: bar.summary.idleText },
                { name: "workload", mark: bar.summary.workloadMark, text: bar.summary.workloadText }
            ]
            delegate: Label {
                id: markLabel
                required property var modelData
                readonly property bool current: modelData.name === bar.summary.state
                objectName: "mark-" + modelData.name
                x: Math.max(0, Math.min(marks.width - width, modelData.mark * marks.width - width / 2))
                text: modelData.name + " target " + modelData.text
                font.weight: current ? Font.DemiBold : Font.Normal
                opacity: current ? 1 : 0.65
            }
        }
        // Only for its height: the marks' labels share one line.
        Label { id: idleLabel; visible: false; text: "idle" }
    }

    Rectangle {
        id: track
        objectName: "ramBar"
        Layout.fillWidth: true
        implicitHeight: 26
        radius: 4
        color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.06)
        border.color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.18)
        clip: true

        Repeater {
            model: bar.segments
            delegate: Rectangle {
                required property var modelData
                x: modelData.start * track.width
                width: Math.max(1, modelData.fraction * track.width - 1)
                height: track.height
                color: Style.segmentColor(modelData, palette.windowText)
                ToolTip.visible: hover.hovered
                ToolTip.text: modelData.text
                HoverHandler { id: hover }
            }
        }

        Repeater {
            model: [bar.summary.idleMark, bar.summary.workloadMark]
            delegate: Rectangle {
                required property real modelData
                x: modelData * track.width - 1
                width: 2
                height: track.height
                color: palette.windowText
                opacity: 0.8
            }
        }
    }

    Flow {
        Layout.fillWidth: true
        spacing: 14
        Repeater {
            model: bar.segments
            delegate: Row {
                required property var modelData
                spacing: 5
                Rectangle {
                    anchors.verticalCenter: parent.verticalCenter
                    width: 10; height: 10; radius: 2
                    color: Style.segmentColor(modelData, palette.windowText)
                    border.color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.25)
                }
                Label {
                    text: modelData.text
                    font.pointSize: Qt.application.font.pointSize * 0.9
                    opacity: 0.85
                }
            }
        }
    }
}
