//! Prints one GPU sample as JSON (the `gpu` object of `status --json`).
//!
//!   gpu_report                     sample this machine
//!   gpu_report --root DIR          sample a fixture tree
//!   gpu_report --interval-ms 1000  sample twice, print the second (engine busy %)
//!   gpu_report --nvml-readings     print what NVML answered, raw (to record a fixture)
//!   gpu_report --from-readings F   the report for recorded NVML readings (a fixture)

use ballast::gpu::{nvml, GpuSampler};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut root = "/".to_string();
    let mut interval = None;
    let mut readings = false;
    let mut recorded = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--root", Some(dir)) => root = dir,
            ("--interval-ms", Some(ms)) => match ms.parse() {
                Ok(ms) => interval = Some(Duration::from_millis(ms)),
                Err(_) => return usage(),
            },
            ("--from-readings", Some(file)) => recorded = Some(file),
            ("--nvml-readings", next) => {
                readings = true;
                if next.is_some() {
                    return usage();
                }
            }
            _ => return usage(),
        }
    }
    let json = if let Some(file) = recorded {
        let readings = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
        match readings {
            Ok(readings) => serde_json::to_string_pretty(&nvml::report(&readings)),
            Err(e) => {
                eprintln!("gpu_report: {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if readings {
        match nvml::init() {
            Ok(nvml) => serde_json::to_string_pretty(&nvml::read(&nvml)),
            Err(reason) => {
                eprintln!("gpu_report: {reason}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let mut sampler = GpuSampler::new(root);
        let mut report = sampler.sample();
        if let Some(interval) = interval {
            std::thread::sleep(interval);
            report = sampler.sample();
        }
        serde_json::to_string_pretty(&report)
    };
    match json {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gpu_report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: gpu_report [--root DIR] [--interval-ms N] | --nvml-readings | --from-readings FILE");
    ExitCode::from(2)
}
