import QtQuick

// A session bus without the agent: the window says so, keeps trying, and refuses actions.
Checks {
    Timer {
        id: deadline
        running: true
        interval: 10000
        onTriggered: {
            check(false, "still " + dashboard.agentState + " after 10 s");
            finish();
        }
    }
    Connections {
        target: dashboard
        function onAgentChanged() {
            if (dashboard.agentState !== "absent")
                return;
            const banner = find("agentBanner");
            check(banner.visible && banner.text.indexOf("not running") >= 0, "banner: " + banner.text);
            check(find("agentStateLabel").text === "No agent", "header: " + find("agentStateLabel").text);
            check(!dashboard.hasView, "no data shown");
            dashboard.launch("discord");
        }
        function onActionChanged() {
            check(dashboard.actionMessage.indexOf("Not done") === 0, "launch without an agent: " + dashboard.actionMessage);
            finish();
        }
    }
}
