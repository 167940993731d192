import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import io.ballast.dashboard
import "style.js" as Style

// The dashboard window: the agent's report as a person reads it.
ApplicationWindow {
    id: window

    // Set by the Rust side (window.rs) before the window loads.
    property string fixtureJson
    property string screenshotPath
    property real screenshotScale: 1

    readonly property alias dashboard: dashboard
    readonly property bool screenshotMode: screenshotPath !== ""

    width: 1280
    // A screenshot shows the whole page, not a scrolled part of it.
    height: screenshotMode ? page.implicitHeight : 900
    minimumWidth: 960
    minimumHeight: 600
    visible: true
    title: "Memory budget"
    color: palette.window

    // The application palette (set from Rust: Breeze, or the Plasma color scheme), given
    // to the window explicitly so every control follows it, not the style's own defaults.
    SystemPalette { id: system }
    SystemPalette { id: disabledSystem; colorGroup: SystemPalette.Disabled }
    palette {
        window: system.window
        windowText: system.windowText
        base: system.base
        alternateBase: system.alternateBase
        text: system.text
        button: system.button
        buttonText: system.buttonText
        highlight: system.highlight
        highlightedText: system.highlightedText
        light: system.light
        midlight: system.midlight
        mid: system.mid
        dark: system.dark
        shadow: system.shadow
        placeholderText: system.placeholderText
        disabled.windowText: disabledSystem.windowText
        disabled.text: disabledSystem.text
        disabled.buttonText: disabledSystem.buttonText
    }

    Dashboard {
        id: dashboard
        Component.onCompleted: window.fixtureJson !== "" ? showFixture(window.fixtureJson) : watchAgent()
    }

    Timer {
        // Waits for data (or the word that there is none) and a laid-out frame.
        running: window.screenshotMode && (dashboard.hasView || dashboard.agentState === "absent")
        interval: 300
        onTriggered: page.grabToImage(result => Qt.exit(result.saveToFile(window.screenshotPath) ? 0 : 1),
                                      Qt.size(page.width * window.screenshotScale, page.height * window.screenshotScale))
    }

    Rectangle {
        id: page
        objectName: "page"
        anchors.fill: parent
        implicitHeight: toolbar.implicitHeight + content.implicitHeight + 2 * content.anchors.margins
        color: palette.window

        ToolBar {
            id: toolbar
            anchors { left: parent.left; right: parent.right; top: parent.top }
            padding: 10
            leftPadding: 18
            rightPadding: 18

            RowLayout {
                anchors.fill: parent
                spacing: 10
                Label {
                    text: "Memory budget"
                    font.pointSize: Qt.application.font.pointSize * 1.45
                    font.weight: Font.DemiBold
                }
                Label {
                    objectName: "profileLabel"
                    visible: dashboard.hasView
                    text: "profile " + dashboard.summary.profile
                    opacity: 0.7
                }
                Chip {
                    objectName: "stateChip"
                    visible: dashboard.hasView
                    text: dashboard.summary.state === "workload" ? "Workload" : "Idle"
                    tint: Style.information
                }
                Chip {
                    objectName: "statusChip"
                    visible: dashboard.hasView
                    text: ({ ok: "Within budget", near: "Near budget", breach: "Over budget" })[dashboard.summary.status] ?? ""
                    tint: Style.statusColor(dashboard.summary.status)
                }
                Item { Layout.fillWidth: true }
                Rectangle {
                    width: 9; height: 9; radius: 4.5
                    color: dashboard.agentState === "live" ? Style.positive : dashboard.agentState === "absent" ? Style.negative : Style.other
                }
                Label {
                    objectName: "agentStateLabel"
                    text: ({ live: "Live from the agent", absent: "No agent", fixture: "Saved report", connecting: "Connecting…" })[dashboard.agentState]
                    opacity: 0.8
                }
            }
        }

        ScrollView {
            id: scroll
            anchors { left: parent.left; right: parent.right; top: toolbar.bottom; bottom: parent.bottom }
            contentWidth: availableWidth
            contentHeight: content.implicitHeight + 2 * content.anchors.margins

            ColumnLayout {
                id: content
                anchors { left: parent.left; right: parent.right; top: parent.top; margins: 18 }
                spacing: 14

                Banner {
                    objectName: "agentBanner"
                    visible: dashboard.agentState === "absent" || dashboard.agentState === "fixture"
                    tint: dashboard.agentState === "absent" ? Style.negative : Style.information
                    text: dashboard.agentMessage
                }
                Repeater {
                    model: dashboard.notices
                    delegate: Banner {
                        required property var modelData
                        tint: modelData.level === "error" ? Style.negative : Style.information
                        text: modelData.text
                    }
                }

                RowLayout {
                    Layout.fillWidth: true
                    spacing: 14
                    visible: dashboard.hasView

                    ColumnLayout {
                        Layout.fillWidth: true
                        Layout.alignment: Qt.AlignTop
                        spacing: 14

                        Card {
                            objectName: "memoryCard"
                            Layout.fillWidth: true
                            title: "Memory"
                            subtitle: dashboard.summary.ramText + " RAM · " + dashboard.summary.availableText + " available · swap " + dashboard.summary.swapText

                            RowLayout {
                                spacing: 8
                                Label {
                                    objectName: "usedLabel"
                                    text: dashboard.summary.usedText
                                    font.pointSize: Qt.application.font.pointSize * 2.2
                                    font.weight: Font.DemiBold
                                    color: dashboard.summary.status === "breach" ? Style.negative : palette.windowText
                                }
                                Label {
                                    Layout.alignment: Qt.AlignBaseline
                                    text: "used of the " + dashboard.summary.limitText + " " + dashboard.summary.state + " budget"
                                    opacity: 0.75
                                }
                            }
                            MemoryBar {
                                Layout.fillWidth: true
                                segments: dashboard.segments
                                summary: dashboard.summary
                            }
                            CategoryTable {
                                Layout.fillWidth: true
                                Layout.topMargin: 6
                                rows: dashboard.categories
                                loadState: dashboard.summary.state
                            }
                        }

                        Card {
                            Layout.fillWidth: true
                            title: "Last 10 minutes"
                            HistoryChart {
                                Layout.fillWidth: true
                                history: dashboard.history
                            }
                        }

                        ScopesCard {
                            objectName: "scopesCard"
                            Layout.fillWidth: true
                            scopes: dashboard.scopes
                            onChooseRequested: (unit, choice) => dashboard.choose(unit, choice)
                        }

                        EventsCard {
                            objectName: "eventsCard"
                            Layout.fillWidth: true
                            events: dashboard.events
                        }

                        LearntCard {
                            objectName: "learntCard"
                            Layout.fillWidth: true
                            learnt: dashboard.learnt
                        }

                        TuneCard {
                            objectName: "tuneCard"
                            Layout.fillWidth: true
                            output: dashboard.tuneOutput
                            failed: dashboard.tuneFailed
                            busy: dashboard.tuneBusy
                            savings: dashboard.savings
                            onTuneRequested: (target, action) => dashboard.tune(target, action)
                        }
                    }

                    ColumnLayout {
                        Layout.preferredWidth: 380
                        Layout.maximumWidth: 380
                        Layout.alignment: Qt.AlignTop
                        spacing: 14

                        Card {
                            objectName: "launchCard"
                            Layout.fillWidth: true
                            title: "Launch"
                            subtitle: "in a scope with the catalog's limits"

                            GridLayout {
                                Layout.fillWidth: true
                                columns: 2
                                columnSpacing: 8
                                rowSpacing: 8
                                Repeater {
                                    model: dashboard.apps
                                    delegate: Button {
                                        required property var modelData
                                        objectName: "launch-" + modelData.id
                                        Layout.fillWidth: true
                                        text: modelData.name
                                        enabled: modelData.installed
                                        highlighted: modelData.running
                                        onClicked: dashboard.launch(modelData.id)
                                        ToolTip.visible: hovered
                                        ToolTip.text: modelData.limitsText + (modelData.installed ? "" : " · not installed")
                                    }
                                }
                            }
                            Label {
                                Layout.fillWidth: true
                                visible: dashboard.apps.length === 0
                                text: "The agent did not send its app catalog."
                                opacity: 0.7
                                wrapMode: Text.WordWrap
                            }
                            Label {
                                objectName: "actionMessage"
                                Layout.fillWidth: true
                                visible: text !== ""
                                text: dashboard.actionMessage
                                wrapMode: Text.WordWrap
                                opacity: 0.85
                            }
                        }

                        ZramCard {
                            objectName: "zramCard"
                            Layout.fillWidth: true
                            zram: dashboard.zram
                        }

                        Card {
                            objectName: "pressureCard"
                            Layout.fillWidth: true
                            title: "Pressure and CPU"
                            subtitle: "time stalled, last 10 s"

                            Repeater {
                                model: dashboard.pressure.rows
                                delegate: RowLayout {
                                    required property var modelData
                                    Layout.fillWidth: true
                                    spacing: 10
                                    Label { Layout.preferredWidth: 64; text: modelData.name; opacity: 0.75 }
                                    Meter { Layout.fillWidth: true; fraction: modelData.fraction; tint: Style.pressure }
                                    Label { Layout.preferredWidth: 56; horizontalAlignment: Text.AlignRight; text: modelData.someText }
                                    Label { Layout.preferredWidth: 78; horizontalAlignment: Text.AlignRight; text: "full " + modelData.fullText; opacity: 0.65 }
                                }
                            }
                            Repeater {
                                model: dashboard.pressure.cpu
                                delegate: RowLayout {
                                    required property var modelData
                                    Layout.fillWidth: true
                                    spacing: 10
                                    Label { Layout.preferredWidth: 64; text: modelData.name; opacity: 0.75 }
                                    Meter { Layout.fillWidth: true; fraction: modelData.fraction; tint: Style.used }
                                    Label { Layout.preferredWidth: 144; horizontalAlignment: Text.AlignRight; text: modelData.text }
                                }
                            }
                            Label {
                                visible: !dashboard.pressure.cpuKnown
                                Layout.fillWidth: true
                                text: "CPU use by the system and workload halves shows from the second sample on."
                                opacity: 0.65
                                wrapMode: Text.WordWrap
                            }
                        }

                        GpuCard {
                            objectName: "gpuCard"
                            Layout.fillWidth: true
                            gpu: dashboard.gpu
                        }
                    }
                }

                DoctorCard {
                    objectName: "doctorCard"
                    Layout.fillWidth: true
                    visible: dashboard.hasView
                    checks: dashboard.doctorChecks
                    error: dashboard.doctorError
                    busy: dashboard.doctorBusy
                    onRunRequested: dashboard.runDoctor()
                }
            }
        }
    }

    // An inline message across the page, like Kirigami's InlineMessage. No spinner while
    // the agent is away: an endless animation would keep an idle window drawing.
    component Banner: Rectangle {
        property alias text: message.text
        property color tint: Style.information
        Layout.fillWidth: true
        implicitHeight: message.implicitHeight + 16
        radius: 5
        color: Qt.rgba(tint.r, tint.g, tint.b, 0.14)
        border.color: Qt.rgba(tint.r, tint.g, tint.b, 0.6)
        Label {
            id: message
            anchors { fill: parent; leftMargin: 12; rightMargin: 12 }
            verticalAlignment: Text.AlignVCenter
            wrapMode: Text.WordWrap
        }
    }

    // A thin horizontal gauge.
    component Meter: Rectangle {
        id: meter
        property real fraction
        property color tint
        implicitHeight: 8
        radius: 4
        color: Qt.rgba(palette.windowText.r, palette.windowText.g, palette.windowText.b, 0.1)
        Rectangle {
            width: parent.width * Math.min(1, meter.fraction)
            height: parent.height
            radius: 4
            color: meter.tint
        }
    }
}
