import QtQuick

// The agent on a private bus, sampling the plasma-v2 fixture tree: its report shows, and
// every action goes through its D-Bus API and comes back. Tune only previews: nothing is
// written.
Checks {
    property string step: "report"

    Timer {
        running: true
        interval: 30000
        onTriggered: {
            check(false, "stuck at step " + step + " (agent " + dashboard.agentState + ")");
            finish();
        }
    }
    Connections {
        target: dashboard
        function onViewChanged() {
            if (step !== "report" || dashboard.agentState !== "live")
                return;
            step = "tune";
            check(find("agentStateLabel").text === "Live from the agent", "header: " + find("agentStateLabel").text);
            check(dashboard.categories.length === 8, "categories: " + dashboard.categories.length);
            check(find("used", find("category-plasma")).text === "704 MiB", "Plasma's use");
            check(dashboard.apps.length >= 8, "the catalog from Apps(): " + dashboard.apps.length);
            check(find("gpuText").text === "none", "GPU: " + find("gpuText").text);
            dashboard.tune("kwin", "preview");
        }
        function onTuneChanged() {
            if (step !== "tune" || dashboard.tuneBusy)
                return;
            step = "doctor";
            check(!dashboard.tuneFailed && dashboard.tuneOutput.indexOf("+Backend=OpenGL") >= 0, "tune preview: " + dashboard.tuneOutput);
            check(find("tuneLines").count > 3, "the preview shows line by line");
            dashboard.runDoctor();
        }
        function onDoctorChanged() {
            if (step !== "doctor" || dashboard.doctorBusy)
                return;
            step = "launch";
            check(dashboard.doctorError === "" && dashboard.doctorChecks.length > 5, "doctor: " + dashboard.doctorError + " " + dashboard.doctorChecks.length);
            check(find("check-zram") !== null, "the zram check shows");
            dashboard.launch("no-such-app");
        }
        function onActionChanged() {
            if (step === "launch") {
                step = "stop";
                check(dashboard.actionMessage.indexOf("Could not start no-such-app: unknown app") === 0, "launch: " + dashboard.actionMessage);
                dashboard.choose("app-nothing-1.scope", "stop");
            } else if (step === "stop") {
                step = "freeze";
                check(dashboard.actionMessage.indexOf("Could not stop app-nothing-1.scope") === 0, "stop: " + dashboard.actionMessage);
                dashboard.choose("app-nothing-1.scope", "freeze");
            } else if (step === "freeze") {
                check(dashboard.actionMessage.indexOf("Could not freeze app-nothing-1.scope: ") === 0, "freeze: " + dashboard.actionMessage);
                finish();
            }
        }
    }
}
