import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// The GPU: video memory used and its budget, how busy the engines are (video decode
// included), and video memory by category where the driver tells per process.
Card {
    id: card
    property var gpu: ({})

    title: "GPU"

    component Bar: Rectangle {
        id: bar
        property real fraction
        property color tint: Style.used
        Layout.fillWidth: true
        implicitHeight: 8
        radius: 4
        color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.1)
        Rectangle {
            width: parent.width * Math.min(1, bar.fraction)
            height: parent.height
            radius: 4
            color: bar.tint
        }
    }

    Label {
        objectName: "gpuText"
        Layout.fillWidth: true
        text: card.gpu.text ?? ""
        font.pointSize: Qt.application.font.pointSize * 1.15
        font.weight: Font.DemiBold
        wrapMode: Text.WordWrap
    }
    Label {
        objectName: "gpuReason"
        Layout.fillWidth: true
        visible: text !== ""
        text: card.gpu.reason ?? ""
        opacity: 0.7
        wrapMode: Text.WordWrap
    }

    Repeater {
        model: card.gpu.devices ?? []
        delegate: ColumnLayout {
            required property var modelData
            required property int index
            readonly property string memoryText: modelData.memoryText
            objectName: "gpuDevice-" + index
            Layout.fillWidth: true
            spacing: 3
            Label {
                visible: (card.gpu.devices ?? []).length > 1
                text: modelData.name
                font.weight: Font.DemiBold
            }
            RowLayout {
                Layout.fillWidth: true
                Label { Layout.fillWidth: true; text: "Video memory"; opacity: 0.75 }
                Label { text: modelData.memoryText; font.weight: Font.DemiBold }
            }
            Bar { fraction: modelData.memoryFraction }
            Label {
                Layout.fillWidth: true
                visible: text !== ""
                text: [modelData.utilizationText, modelData.videoText, modelData.sensorsText].filter(t => t !== "").join(" · ")
                opacity: 0.75
                wrapMode: Text.WordWrap
            }
        }
    }

    ColumnLayout {
        objectName: "gpuVram"
        Layout.fillWidth: true
        visible: (card.gpu.vramText ?? "") !== ""
        spacing: 3
        RowLayout {
            Layout.fillWidth: true
            Label { Layout.fillWidth: true; text: "VRAM budget"; opacity: 0.75 }
            Label { text: card.gpu.vramText ?? ""; color: card.gpu.vramStatus === "ok" ? palette.windowText : Style.statusColor(card.gpu.vramStatus) }
        }
        Bar { fraction: card.gpu.vramFraction ?? 0; tint: Style.statusColor(card.gpu.vramStatus) }
    }

    Repeater {
        model: card.gpu.memory ?? []
        delegate: RowLayout {
            required property var modelData
            Layout.fillWidth: true
            spacing: 8
            ColumnLayout {
                Layout.fillWidth: true
                spacing: 0
                Label { Layout.fillWidth: true; text: modelData.name; elide: Text.ElideRight }
                Label {
                    Layout.fillWidth: true
                    visible: text !== ""
                    text: modelData.appsText
                    opacity: 0.65
                    font.pointSize: Qt.application.font.pointSize * 0.85
                    elide: Text.ElideRight
                }
            }
            Label { Layout.alignment: Qt.AlignTop; text: modelData.memoryText }
        }
    }
}
