//! `ballast-dashboard [--screenshot FILE] [--from-json FIXTURE] [--scale 1|2] [--dark]`

use ballast_dashboard::window::{self, Options};
use std::path::PathBuf;

const USAGE: &str = "usage: ballast-dashboard [--screenshot FILE] [--from-json FIXTURE] [--scale 1|2] [--dark]

Shows the ballast agent's memory budget in a window; the agent's D-Bus API is its only source.
  --screenshot FILE     render offscreen, save the window as a PNG, exit
  --from-json FIXTURE   show a saved report (`ballast status --json`) or session instead of live data
  --scale 1|2           device pixel ratio
  --dark                Breeze Dark colors";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--screenshot" => options.screenshot = Some(PathBuf::from(value("--screenshot")?)),
            "--from-json" => options.fixture = Some(PathBuf::from(value("--from-json")?)),
            "--scale" => {
                options.scale = match value("--scale")?.as_str() {
                    "1" => 1,
                    "2" => 2,
                    other => return Err(format!("--scale is 1 or 2, not {other:?}")),
                }
            }
            "--dark" => options.dark = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("ballast-dashboard: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match window::run(window::MAIN_QML, &options) {
        Ok(code) => std::process::exit(code),
        Err(message) => {
            eprintln!("ballast-dashboard: {message}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> impl Iterator<Item = String> + '_ {
        line.split_whitespace().map(str::to_owned)
    }

    #[test]
    fn reads_the_screenshot_options() {
        let options = parse(args("--screenshot out.png --from-json r.json --scale 2 --dark")).unwrap();
        assert_eq!(
            options,
            Options { fixture: Some("r.json".into()), screenshot: Some("out.png".into()), scale: 2, dark: true }
        );
        assert_eq!(parse(args("")).unwrap(), Options::default());
        assert!(parse(args("--scale 3")).unwrap_err().contains("1 or 2"));
        assert!(parse(args("--screenshot")).unwrap_err().contains("needs a value"));
    }
}
