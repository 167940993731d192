import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// KWin and Baloo tuning through the agent: preview the diff, apply it, roll it back.
Card {
    id: card
    property string output
    property bool failed
    property bool busy
    // The last `ballast tune --measure`: { rows: [...], whenText }.
    property var savings: ({ rows: [], whenText: "" })
    signal tuneRequested(string target, string action)

    readonly property string target: ["kwin", "baloo", "all"][targetBox.currentIndex]

    title: "Tune"
    subtitle: "KWin compositing and Baloo indexing, as the profile wants them"

    RowLayout {
        Layout.fillWidth: true
        spacing: 8
        ComboBox {
            id: targetBox
            objectName: "tuneTarget"
            model: ["KWin", "Baloo", "KWin and Baloo"]
            implicitContentWidthPolicy: ComboBox.WidestText
        }
        Item { Layout.fillWidth: true }
        BusyIndicator { running: card.busy; visible: card.busy; implicitWidth: 28; implicitHeight: 28 }
        Button {
            objectName: "tunePreview"
            text: "Preview"
            icon.name: "document-preview"
            enabled: !card.busy
            onClicked: card.tuneRequested(card.target, "preview")
        }
        Button {
            objectName: "tuneApply"
            text: "Apply"
            icon.name: "dialog-ok-apply"
            enabled: !card.busy
            onClicked: card.tuneRequested(card.target, "apply")
            ToolTip.visible: hovered
            ToolTip.text: "Writes the settings (after a backup) and tells the running programs"
        }
        Button {
            objectName: "tuneRollback"
            text: "Roll back"
            icon.name: "edit-undo"
            enabled: !card.busy
            onClicked: card.tuneRequested(card.target, "rollback")
            ToolTip.visible: hovered
            ToolTip.text: "Restores the files as they were before the last Apply"
        }
    }

    Rectangle {
        Layout.fillWidth: true
        implicitHeight: Math.min(lines.implicitHeight + 16, 360)
        radius: 4
        color: palette.window
        border.color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.12)

        ScrollView {
            anchors.fill: parent
            anchors.margins: 8
            clip: true
            contentWidth: availableWidth

            Column {
                id: lines
                width: parent.width
                Label {
                    visible: card.output === ""
                    width: parent.width
                    text: "Preview shows what Apply would change in kwinrc, kdeglobals and baloofilerc, line by line."
                    opacity: 0.65
                    wrapMode: Text.WordWrap
                }
                Repeater {
                    objectName: "tuneLines"
                    model: card.output === "" ? [] : card.output.split("\n")
                    delegate: Label {
                        required property string modelData
                        width: lines.width
                        text: modelData === "" ? " " : modelData
                        font.family: "monospace"
                        wrapMode: Text.WrapAnywhere
                        color: card.failed ? Style.negative
                             : modelData.startsWith("+++") || modelData.startsWith("---") ? palette.windowText
                             : modelData.startsWith("+") ? Style.positive
                             : modelData.startsWith("-") ? Style.negative
                             : palette.windowText
                        opacity: modelData.startsWith("@@") ? 0.6 : 1
                        font.weight: modelData.startsWith("+++") || modelData.startsWith("---") ? Font.DemiBold : Font.Normal
                    }
                }
            }
        }
    }

    Label {
        Layout.fillWidth: true
        Layout.topMargin: 6
        text: "Measured savings"
        font.weight: Font.DemiBold
    }
    Label {
        visible: card.savings.rows.length === 0
        Layout.fillWidth: true
        text: "Not measured yet: `ballast tune all --measure` applies and reads what KWin, plasmashell and Baloo use before and after."
        opacity: 0.7
        wrapMode: Text.WordWrap
    }
    RowLayout {
        visible: card.savings.rows.length > 0
        Layout.fillWidth: true
        spacing: 12
        Label { Layout.preferredWidth: 100; text: "" }
        Label { Layout.preferredWidth: 70; text: "Before"; opacity: 0.7; horizontalAlignment: Text.AlignRight }
        Label { Layout.preferredWidth: 70; text: "After"; opacity: 0.7; horizontalAlignment: Text.AlignRight }
        Label { Layout.preferredWidth: 110; text: "Saved"; opacity: 0.7; horizontalAlignment: Text.AlignRight }
        Label { Layout.fillWidth: true; text: "Seed's claim"; opacity: 0.7 }
    }
    Repeater {
        model: card.savings.rows
        delegate: RowLayout {
            required property var modelData
            required property int index
            objectName: "saving-" + index
            Layout.fillWidth: true
            spacing: 12
            Label { Layout.preferredWidth: 100; text: modelData.component; font.weight: Font.DemiBold }
            Label { Layout.preferredWidth: 70; text: modelData.beforeText; horizontalAlignment: Text.AlignRight }
            Label { Layout.preferredWidth: 70; text: modelData.afterText; horizontalAlignment: Text.AlignRight }
            Label { objectName: "saved"; Layout.preferredWidth: 110; text: modelData.savingsText; horizontalAlignment: Text.AlignRight }
            Label { Layout.fillWidth: true; text: modelData.claimText; opacity: 0.7; elide: Text.ElideRight }
        }
    }
    Label {
        visible: card.savings.whenText !== ""
        Layout.fillWidth: true
        text: "PSS of each unit's processes · " + card.savings.whenText
        opacity: 0.6
        wrapMode: Text.WordWrap
        font.pointSize: Qt.application.font.pointSize * 0.9
    }
}
