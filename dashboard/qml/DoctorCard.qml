import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// The doctor's checks (problems first) with their fixes.
Card {
    id: card
    property var checks: []
    property string error
    property bool busy
    signal runRequested()

    title: "Doctor"
    subtitle: checks.length === 0 ? "" : summary()

    function summary() {
        const count = verdict => checks.filter(c => c.verdict === verdict).length;
        return [[count("FAIL"), "failed"], [count("WARN"), "to look at"], [count("PASS"), "passed"]]
            .filter(pair => pair[0] > 0).map(pair => pair[0] + " " + pair[1]).join(" · ");
    }

    actions: [
        BusyIndicator { running: card.busy; visible: card.busy; implicitWidth: 28; implicitHeight: 28 },
        Button {
            objectName: "runDoctor"
            text: card.checks.length === 0 ? "Run checks" : "Check again"
            icon.name: "tools-report-bug"
            enabled: !card.busy
            onClicked: card.runRequested()
        }
    ]

    Label {
        visible: card.error !== ""
        Layout.fillWidth: true
        text: card.error
        color: Style.negative
        wrapMode: Text.WordWrap
    }
    Label {
        visible: card.checks.length === 0 && card.error === ""
        Layout.fillWidth: true
        text: "Checks zram, sysctls, cgroups, the systemd user manager, scope limits, GPU drivers and Baloo against the profile."
        opacity: 0.7
        wrapMode: Text.WordWrap
    }

    Repeater {
        model: card.checks
        delegate: RowLayout {
            required property var modelData
            objectName: "check-" + modelData.id
            Layout.fillWidth: true
            spacing: 10
            Chip {
                Layout.alignment: Qt.AlignTop
                Layout.preferredWidth: 54
                text: modelData.verdict
                tint: Style.statusColor(modelData.verdict)
            }
            ColumnLayout {
                Layout.fillWidth: true
                spacing: 1
                Label {
                    Layout.fillWidth: true
                    text: modelData.message
                    wrapMode: Text.WordWrap
                }
                Label {
                    Layout.fillWidth: true
                    text: modelData.id + (modelData.fix ? " · Fix: " + modelData.fix : "")
                    wrapMode: Text.WordWrap
                    opacity: 0.65
                    font.pointSize: Qt.application.font.pointSize * 0.9
                }
            }
        }
    }
}
