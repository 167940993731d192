import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import "style.js" as Style

// The last ten minutes: used memory and zram's stored data against RAM (left axis), memory
// pressure against its own scale (right axis), and the current budget as a dashed line.
ColumnLayout {
    id: chart
    property var history: ({})

    spacing: 6

    onHistoryChanged: canvas.requestPaint()

    RowLayout {
        Layout.fillWidth: true
        spacing: 18
        Repeater {
            model: [
                { name: "Used", color: Style.used, value: chart.history.usedText },
                { name: "zram stored", color: Style.zram, value: chart.history.zramText },
                { name: "Pressure (some, 10 s)", color: Style.pressure, value: chart.history.pressureText },
                { name: "Budget", color: Style.negative, value: "", dashed: true }
            ]
            delegate: Row {
                required property var modelData
                spacing: 6
                Rectangle {
                    anchors.verticalCenter: parent.verticalCenter
                    width: 14; height: 3
                    color: modelData.color
                    opacity: modelData.dashed ? 0.7 : 1
                }
                Label { text: modelData.name; opacity: 0.75 }
                Label { text: modelData.value; font.weight: Font.DemiBold }
            }
        }
        Item { Layout.fillWidth: true }
    }

    Canvas {
        id: canvas
        objectName: "historyCanvas"
        Layout.fillWidth: true
        implicitHeight: 190
        renderStrategy: Canvas.Immediate

        readonly property color ink: palette.windowText
        onInkChanged: requestPaint()
        onWidthChanged: requestPaint()

        onPaint: {
            const ctx = getContext("2d");
            ctx.reset();
            const h = chart.history;
            const left = 8, right = width - 44, top = 8, bottom = height - 22;
            const x = t => left + (1 + t / h.seconds) * (right - left);
            const yMemory = v => bottom - (v / h.memoryMax) * (bottom - top);
            const yPressure = v => bottom - (v / h.pressureMax) * (bottom - top);
            const inkAt = a => Qt.rgba(ink.r, ink.g, ink.b, a);

            ctx.font = Math.round(Qt.application.font.pixelSize * 0.85) + "px sans-serif";
            ctx.lineWidth = 1;
            ctx.strokeStyle = inkAt(0.12);
            ctx.fillStyle = inkAt(0.6);
            for (let i = 0; i <= 4; ++i) {
                const y = top + i * (bottom - top) / 4;
                ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
            }
            ctx.textAlign = "center";
            for (let minutes = 10; minutes >= 0; minutes -= 2) {
                const at = x(-minutes * 60);
                ctx.beginPath(); ctx.moveTo(at, top); ctx.lineTo(at, bottom); ctx.stroke();
                ctx.fillText(minutes === 0 ? "now" : "−" + minutes + " min", Math.min(Math.max(at, left + 22), right - 12), height - 6);
            }
            ctx.textAlign = "left";
            ctx.fillText(h.memoryMaxText, left + 4, top + 12);
            ctx.fillText(h.pressureMaxText, right + 6, top + 10);
            ctx.fillText("0 %", right + 6, bottom);

            if (!h.times || h.times.length === 0) {
                ctx.textAlign = "center";
                ctx.fillText("No history yet", (left + right) / 2, (top + bottom) / 2);
                return;
            }
            const line = (values, y, color, fill) => {
                ctx.beginPath();
                for (let i = 0; i < values.length; ++i) {
                    const px = x(h.times[i]), py = y(values[i]);
                    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
                }
                ctx.strokeStyle = color;
                ctx.lineWidth = 2;
                ctx.stroke();
                if (fill) {
                    ctx.lineTo(x(h.times[values.length - 1]), bottom);
                    ctx.lineTo(x(h.times[0]), bottom);
                    ctx.closePath();
                    ctx.fillStyle = color;
                    ctx.globalAlpha = 0.14;
                    ctx.fill();
                    ctx.globalAlpha = 1;
                }
            };
            line(h.used, yMemory, Style.used, true);
            line(h.zram, yMemory, Style.zram, true);
            line(h.pressure, yPressure, Style.pressure, false);

            ctx.setLineDash([6, 4]);
            ctx.strokeStyle = Style.negative;
            ctx.lineWidth = 1.5;
            ctx.beginPath(); ctx.moveTo(left, yMemory(h.limit)); ctx.lineTo(right, yMemory(h.limit)); ctx.stroke();
            ctx.setLineDash([]);
        }
    }
}
