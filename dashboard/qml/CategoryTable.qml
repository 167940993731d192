import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// A row per category: use, both targets, use against the current target, the trend.
ColumnLayout {
    id: table
    property var rows: []
    property string loadState: "idle"

    spacing: 0

    component Cell: Label {
        property int columnWidth: 90
        Layout.preferredWidth: columnWidth
        horizontalAlignment: Text.AlignRight
        elide: Text.ElideRight
    }

    RowLayout {
        Layout.fillWidth: true
        Layout.bottomMargin: 4
        spacing: 12
        opacity: 0.7
        Label { Layout.fillWidth: true; text: "Category"; font.weight: Font.DemiBold }
        Cell { text: "Used"; font.weight: Font.DemiBold }
        Cell { text: "Idle target"; font.weight: Font.DemiBold; opacity: table.loadState === "idle" ? 1 : 0.75 }
        Cell { text: "Workload target"; font.weight: Font.DemiBold; columnWidth: 120; opacity: table.loadState === "workload" ? 1 : 0.75 }
        Label { Layout.preferredWidth: 120; text: "Against target"; font.weight: Font.DemiBold }
        Cell { text: "Last minute"; font.weight: Font.DemiBold; columnWidth: 130 }
    }

    Repeater {
        model: table.rows
        delegate: Rectangle {
            required property var modelData
            required property int index
            objectName: "category-" + modelData.id
            Layout.fillWidth: true
            implicitHeight: row.implicitHeight + 10
            color: index % 2 ? "transparent" : Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.035)
            radius: 3

            RowLayout {
                id: row
                anchors.fill: parent
                anchors.leftMargin: 4
                anchors.rightMargin: 4
                spacing: 12

                Rectangle {
                    width: 10; height: 10; radius: 2
                    color: modelData.reclaimable ? Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.14) : Style.categoryColor(modelData.colorIndex)
                    border.color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.25)
                }
                ColumnLayout {
                    Layout.fillWidth: true
                    spacing: 0
                    Label {
                        Layout.fillWidth: true
                        text: modelData.name + (modelData.reclaimable ? "  (reclaimable)" : "")
                        elide: Text.ElideRight
                    }
                    Label {
                        Layout.fillWidth: true
                        visible: text !== ""
                        text: [modelData.appsText, modelData.cpuText].filter(t => t !== "").join(" · ")
                        font.pointSize: Qt.application.font.pointSize * 0.85
                        opacity: 0.65
                        elide: Text.ElideRight
                    }
                }
                Cell { objectName: "used"; text: modelData.usedText; font.weight: Font.DemiBold }
                Cell { text: modelData.idleText; opacity: table.loadState === "idle" ? 1 : 0.65 }
                Cell { text: modelData.workloadText; columnWidth: 120; opacity: table.loadState === "workload" ? 1 : 0.65 }
                Rectangle {
                    Layout.preferredWidth: 120
                    implicitHeight: 8
                    radius: 4
                    color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.1)
                    Rectangle {
                        width: parent.width * modelData.fraction
                        height: parent.height
                        radius: 4
                        color: modelData.reclaimable ? Style.other : Style.statusColor(modelData.status)
                    }
                }
                Cell {
                    columnWidth: 130
                    text: (modelData.trend === "up" ? "▲ " : modelData.trend === "down" ? "▼ " : "") + modelData.trendText
                    color: modelData.trend === "up" && !modelData.reclaimable ? Style.neutral : palette.windowText
                    opacity: modelData.trend === "steady" || modelData.trend === "" ? 0.6 : 1
                }
            }
        }
    }
}
