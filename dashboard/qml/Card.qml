import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// A titled panel on the window background, like Plasma's System Monitor cards.
Rectangle {
    id: card
    property string title
    property string subtitle
    // Items shown right of the title (a button, a chip).
    property alias actions: actionRow.data
    default property alias content: body.data

    implicitWidth: column.implicitWidth + 2 * column.anchors.margins
    implicitHeight: column.implicitHeight + 2 * column.anchors.margins
    radius: 6
    color: palette.base
    border.color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.14)

    ColumnLayout {
        id: column
        anchors.fill: parent
        anchors.margins: 14
        spacing: 10

        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            Label {
                text: card.title
                font.pointSize: Qt.application.font.pointSize * 1.15
                font.weight: Font.DemiBold
            }
            Label {
                Layout.fillWidth: true
                text: card.subtitle
                opacity: 0.7
                elide: Text.ElideRight
            }
            RowLayout {
                id: actionRow
                spacing: 6
            }
        }
        ColumnLayout {
            id: body
            Layout.fillWidth: true
            spacing: 8
        }
    }
}
