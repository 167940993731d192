import QtQuick

// A whole session: every part of the window shows it.
Checks {
    Timer {
        running: dashboard.hasView
        interval: 200
        onTriggered: {
            check(dashboard.agentState === "fixture", "agent state: " + dashboard.agentState);
            check(dashboard.summary.usedText === "7.9 GiB", "summary used: " + dashboard.summary.usedText);
            check(find("usedLabel").text === "7.9 GiB", "used label");
            check(find("stateChip").text === "Workload" && find("statusChip").text === "Within budget", "state chips");
            check(find("mark-workload").text === "workload target 10.0 GiB", "workload mark: " + find("mark-workload").text);

            check(dashboard.segments.length === 10, "segments: " + dashboard.segments.length);
            const end = dashboard.segments.reduce((sum, s) => sum + s.fraction, 0);
            check(end > 0.9 && end <= 1.0, "the bar fills RAM at most: " + end);

            check(dashboard.categories.length === 8, "categories: " + dashboard.categories.length);
            check(dashboard.categories[2].name === "Plasma desktop", "third category: " + dashboard.categories[2].name);
            const plasma = find("category-plasma");
            check(plasma !== null && plasma.visible, "a row for Plasma");
            check(find("used", plasma).text === "704 MiB", "Plasma's use: " + find("used", plasma).text);
            check(dashboard.categories[5].trend === "up", "browser trend: " + dashboard.categories[5].trend);

            check(dashboard.history.times.length === 300, "history points: " + dashboard.history.times.length);
            check(find("historyCanvas").height > 100, "the chart has room");

            check(find("gpuText").text === "NVIDIA GeForce GTX 960", "GPU: " + find("gpuText").text);
            check(find("gpuDevice-0").memoryText === "1.0 GiB of 4.0 GiB", "VRAM of the device");
            check(find("gpuVram").visible, "VRAM against its budget");
            check(find("zramRatio").text === "4.1×", "zram ratio: " + find("zramRatio").text);

            const discord = find("scope-app-ballast-discord-3f2a91c0.scope");
            check(discord !== null, "a row for Discord's scope");
            check(find("stop", discord) !== null, "Discord's scope has a Stop button");
            check(find("freeze", discord) !== null && find("giveMore", discord) !== null, "Discord's scope offers Freeze and More");
            const signal = find("scope-app-ballast-signal-0b7e44d1.scope");
            check(find("thaw", signal) !== null && find("frozenChip", signal).visible, "Signal is frozen: a chip and Thaw");
            check(dashboard.events.length === 3, "events: " + dashboard.events.length);
            check(dashboard.events[0].what === "Frozen" && dashboard.events[0].agoText === "4 min ago", "newest first: " + JSON.stringify(dashboard.events[0]));
            check(find("why", find("event-2")).text.indexOf("systemd-oomd: memory pressure in app.slice") === 0, "the oomd kill says why: " + find("why", find("event-2")).text);
            check(find("suggested", find("learnt-0")).text === "→ 2.2 GiB / 2.4 GiB", "Discord's learnt limits: " + find("suggested", find("learnt-0")).text);
            check(!find("suggested", find("learnt-1")).visible, "Signal has too little evidence: no suggestion");
            check(find("saved", find("saving-2")).text === "16 KiB (0%)", "Baloo's measured saving: " + find("saved", find("saving-2")).text);
            check(!find("launch-teams").enabled, "Teams is not installed: no launch");
            check(find("launch-discord").enabled && find("launch-discord").highlighted, "Discord installed and running");

            check(dashboard.doctorChecks[0].verdict === "FAIL", "failures first: " + dashboard.doctorChecks[0].verdict);
            check(find("check-systemd-user") !== null, "the systemd-user check shows");
            check(find("tuneLines").count > 10, "the tune preview shows line by line");

            // A saved report has no agent to ask: the window says so instead of acting.
            find("stop", discord).clicked();
            check(dashboard.actionMessage.indexOf("Not connected") === 0, "stop without an agent: " + dashboard.actionMessage);
            finish();
        }
    }
}
