import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// zram: what was swapped out against what it takes compressed.
Card {
    id: card
    property var zram: ({})

    title: "zram"
    subtitle: zram.stateText ?? ""

    RowLayout {
        Layout.fillWidth: true
        spacing: 10
        Label {
            objectName: "zramRatio"
            text: card.zram.ratioText ?? "—"
            font.pointSize: Qt.application.font.pointSize * 2
            font.weight: Font.DemiBold
        }
        Label {
            Layout.fillWidth: true
            text: "compression ratio"
            opacity: 0.7
            wrapMode: Text.WordWrap
        }
    }

    component SizeBar: ColumnLayout {
        id: sizeBar
        property string name
        property string value
        property real fraction
        property color tint
        Layout.fillWidth: true
        spacing: 2
        RowLayout {
            Layout.fillWidth: true
            Label { Layout.fillWidth: true; text: sizeBar.name; opacity: 0.75 }
            Label { text: sizeBar.value; font.weight: Font.DemiBold }
        }
        Rectangle {
            Layout.fillWidth: true
            implicitHeight: 10
            radius: 3
            color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.08)
            Rectangle {
                width: parent.width * sizeBar.fraction
                height: parent.height
                radius: 3
                color: sizeBar.tint
            }
        }
    }

    SizeBar { name: "Original data"; value: card.zram.originalText ?? ""; fraction: card.zram.state === "active" ? 1 : 0; tint: Style.zram }
    SizeBar { name: "Compressed"; value: card.zram.compressedText ?? ""; fraction: card.zram.compressedFraction ?? 0; tint: Qt.darker(Style.zram, 1.35) }

    GridLayout {
        Layout.fillWidth: true
        columns: 2
        columnSpacing: 12
        rowSpacing: 2
        Label { text: "RAM used by the pool"; opacity: 0.75 }
        Label { Layout.fillWidth: true; horizontalAlignment: Text.AlignRight; text: card.zram.poolText ?? "" }
        Label { text: "Device filled"; opacity: 0.75 }
        Label { Layout.fillWidth: true; horizontalAlignment: Text.AlignRight; text: card.zram.fillText ?? "" }
        Label { text: "Device"; opacity: 0.75; visible: (card.zram.deviceText ?? "") !== "" }
        Label { Layout.fillWidth: true; horizontalAlignment: Text.AlignRight; text: card.zram.deviceText ?? ""; visible: text !== ""; elide: Text.ElideLeft }
    }
}
