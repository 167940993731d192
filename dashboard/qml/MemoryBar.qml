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
        // Two targets close together (a large idle target, or a narrow window) would print
        // one label over the other: then the workload's goes on a second line.
        readonly property bool stacked: idleMark.x + idleMark.width + 8 > workloadMark.x && workloadMark.x + workloadMark.width + 8 > idleMark.x
        Layout.fillWidth: true
        implicitHeight: idleMark.implicitHeight * (stacked ? 2 : 1) + 2

        MarkLabel { id: idleMark; name: "idle"; mark: bar.summary.idleMark || 0; value: bar.summary.idleText || "" }
        MarkLabel { id: workloadMark; name: "workload"; mark: bar.summary.workloadMark || 0; value: bar.summary.workloadText || ""; y: marks.stacked ? idleMark.implicitHeight : 0 }
    }

    component MarkLabel: Label {
        property string name
        property real mark
        property string value
        readonly property bool current: name === bar.summary.state
        objectName: "mark-" + name
        x: Math.max(0, Math.min(marks.width - width, mark * marks.width - width / 2))
        text: name + " target " + value
        font.weight: current ? Font.DemiBold : Font.Normal
        opacity: current ? 1 : 0.65
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
