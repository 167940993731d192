import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// Limits learnt from what each catalog app used (`ballast suggest` prints the same): its
// MemoryHigh / MemoryMax now beside the suggested ones, with the evidence.
Card {
    id: card
    property var learnt: []

    title: "Learnt limits"
    subtitle: learnt.length === 0 ? "" : "MemoryHigh / MemoryMax, 14 newest days on record"

    Label {
        visible: card.learnt.length === 0
        Layout.fillWidth: true
        text: "Nothing learnt yet: the agent records what catalog apps use, and suggests limits after 3 days of use."
        opacity: 0.7
        wrapMode: Text.WordWrap
    }

    Repeater {
        model: card.learnt
        delegate: ColumnLayout {
            required property var modelData
            required property int index
            objectName: "learnt-" + index
            Layout.fillWidth: true
            spacing: 2
            RowLayout {
                Layout.fillWidth: true
                Label { text: modelData.name; font.weight: Font.DemiBold }
                Label { Layout.fillWidth: true; text: "now " + modelData.nowText; opacity: 0.7; horizontalAlignment: Text.AlignRight }
                Label {
                    objectName: "suggested"
                    visible: modelData.suggestedText !== ""
                    text: "→ " + modelData.suggestedText
                    font.weight: Font.DemiBold
                }
            }
            Label {
                Layout.fillWidth: true
                text: modelData.evidenceText
                opacity: 0.75
                wrapMode: Text.WordWrap
                font.pointSize: Qt.application.font.pointSize * 0.9
            }
        }
    }

    Label {
        visible: card.learnt.some(app => app.suggestedText !== "")
        Layout.fillWidth: true
        text: "ballast suggest --apply writes them into your profile."
        opacity: 0.6
        wrapMode: Text.WordWrap
        font.pointSize: Qt.application.font.pointSize * 0.9
    }
}
