import QtQuick

// A bare report: the report's parts show, the rest says what is missing.
Checks {
    Timer {
        running: dashboard.hasView
        interval: 200
        onTriggered: {
            check(dashboard.categories.length === 8, "categories: " + dashboard.categories.length);
            check(dashboard.categories.every(c => c.trendText === "—"), "no trend without an earlier report");
            check(dashboard.history.times.length === 0, "no history");
            check(dashboard.scopes.length === 0 && dashboard.apps.length === 0, "no scopes, no catalog");
            check(dashboard.doctorChecks.length === 0, "no doctor results");
            check(find("gpuText").text === "none", "GPU: " + find("gpuText").text);
            check(find("gpuReason").text.indexOf("no GPU found") === 0, "GPU reason: " + find("gpuReason").text);
            finish();
        }
    }
}
