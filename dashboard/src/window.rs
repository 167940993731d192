//! Starts Qt and the window: style, palette, the QML, and what the command line asked for.

use crate::palette::set_application_palette;
use crate::report::Fixture;
use crate::theme;
use cxx_qt_lib::{
    QGuiApplication, QMap, QMapPair_QString_QVariant, QQmlApplicationEngine, QQuickStyle, QString, QUrl, QVariant,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The window's QML as the build put it in the resources.
pub const MAIN_QML: &str = "qrc:/qt/qml/io/ballast/dashboard/qml/Main.qml";

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// A report or session to show instead of the agent's live data.
    pub fixture: Option<PathBuf>,
    /// Render offscreen, save a PNG here, exit.
    pub screenshot: Option<PathBuf>,
    /// Device pixel ratio: 1 or 2.
    pub scale: u32,
    /// Breeze Dark instead of the desktop's colors.
    pub dark: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { fixture: None, screenshot: None, scale: 1, dark: false }
    }
}

/// Runs the window until it closes (or the screenshot is saved); the exit code.
pub fn run(qml: &str, options: &Options) -> Result<i32, String> {
    let fixture = match &options.fixture {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // Said here, before a window shows it.
            serde_json::from_str::<Fixture>(&text)
                .map_err(|e| format!("{} is not a report or a session: {e}", path.display()))?;
            Some(text)
        }
        None => None,
    };
    if options.screenshot.is_some() && std::env::var_os("QT_QPA_PLATFORM").is_none() {
        std::env::set_var("QT_QPA_PLATFORM", "offscreen");
    }
    if options.scale != 1 {
        std::env::set_var("QT_SCALE_FACTOR", options.scale.to_string());
    }
    // Links the QML module (types and resources) into any binary that runs the window,
    // tests included; otherwise only the package's own binary would get it.
    cxx_qt::init_qml_module!("io.ballast.dashboard");
    let mut app = QGuiApplication::new();
    let mut engine = QQmlApplicationEngine::new();
    let (Some(mut app_ref), Some(mut engine_ref)) = (app.as_mut(), engine.as_mut()) else {
        return Err("Qt did not start".into());
    };
    app_ref.as_mut().set_application_name(&QString::from("ballast-dashboard"));
    app_ref.as_mut().set_application_display_name(&QString::from("ballast"));
    QGuiApplication::set_desktop_file_name(&QString::from("io.ballast.Ballast"));

    // Where the build puts QML modules; Qt 6.5 searches it by default, 6.4 does not.
    engine_ref.as_mut().add_import_path(&QString::from("qrc:/qt/qml"));
    let kde_style = engine_ref
        .import_path_list()
        .iter()
        .any(|dir| Path::new(&dir.to_string()).join("org/kde/desktop/qmldir").is_file());
    // QT_QUICK_CONTROLS_STYLE, when set, is the user's choice and wins.
    if std::env::var_os("QT_QUICK_CONTROLS_STYLE").is_none() {
        QQuickStyle::set_style(&QString::from(if kde_style { "org.kde.desktop" } else { "Fusion" }));
    }
    let palette = if options.dark {
        Some(theme::BREEZE_DARK)
    } else if options.screenshot.is_some() {
        Some(theme::BREEZE_LIGHT)
    } else if kde_style {
        // org.kde.desktop brings the Plasma platform theme, which sets the palette itself.
        None
    } else {
        theme::kdeglobals_path().and_then(|path| theme::scheme_colors(&path))
    };
    if let Some(colors) = palette {
        set_application_palette(&colors);
    }

    let mut properties = QMap::<QMapPair_QString_QVariant>::default();
    let text = |s: &str| QVariant::from(&QString::from(s));
    properties.insert(QString::from("fixtureJson"), text(fixture.as_deref().unwrap_or("")));
    let screenshot = options.screenshot.as_ref().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    properties.insert(
        QString::from("screenshotPath"),
        text(&screenshot.map(|p| p.display().to_string()).unwrap_or_default()),
    );
    properties.insert(QString::from("screenshotScale"), QVariant::from(&f64::from(options.scale)));
    engine_ref.as_mut().set_initial_properties(&properties);
    // load() is synchronous: a QML error shows by the time it returns.
    let failed = Arc::new(AtomicBool::new(false));
    let _watch = engine_ref.as_mut().on_object_creation_failed({
        let failed = failed.clone();
        move |_, _| failed.store(true, Ordering::Relaxed)
    });
    engine_ref.as_mut().load(&QUrl::from(qml));
    if failed.load(Ordering::Relaxed) {
        return Err(format!("{qml} did not load (the QML errors are above)"));
    }
    Ok(app_ref.exec())
}
