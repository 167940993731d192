use cxx_qt_build::{CxxQtBuilder, QmlModule};

fn main() {
    let module = QmlModule::new("io.ballast.dashboard").qml_files([
        "qml/Main.qml",
        "qml/Card.qml",
        "qml/MemoryBar.qml",
        "qml/CategoryTable.qml",
        "qml/HistoryChart.qml",
        "qml/ZramCard.qml",
        "qml/GpuCard.qml",
        "qml/ScopesCard.qml",
        "qml/EventsCard.qml",
        "qml/LearntCard.qml",
        "qml/TuneCard.qml",
        "qml/DoctorCard.qml",
        "qml/Chip.qml",
        "qml/style.js",
    ]);
    CxxQtBuilder::new_qml_module(module)
        .qt_module("Gui")
        .qt_module("Quick")
        .qt_module("QuickControls2")
        .files(["src/bridge.rs", "src/palette.rs"])
        .cpp_file("src/palette.cpp")
        .build();
}
