import QtQuick
import io.ballast.dashboard

// The dashboard window with a checklist: cases extend it, call check() on the bridge's
// properties and on the window's items (found by objectName), then finish().
Main {
    id: checks
    property var failures: []

    function check(condition, what) {
        if (!condition)
            failures.push(what);
    }

    // The first item called `name` below `item`, depth first.
    function find(name, item) {
        const from = item ?? checks.contentItem;
        for (let i = 0; i < from.children.length; ++i) {
            const child = from.children[i];
            if (child.objectName === name)
                return child;
            const found = find(name, child);
            if (found)
                return found;
        }
        return null;
    }

    function finish() {
        for (const failure of failures)
            console.info("FAILED: " + failure);
        Qt.exit(failures.length === 0 ? 0 : 1);
    }
}
