//! Named cases run one after another against one expensive environment (a real user
//! manager), ending with the closing line CI reads: "N passed, N failed".

/// A named case: its name and the function that runs it.
pub type Case<E> = (&'static str, fn(&E) -> Result<(), String>);

/// Runs the cases, or says why there is no environment: skipped outside CI, a failure
/// under CI=true (CI runs as root with writable cgroups, so the environment must start).
pub fn run<E>(what: &str, environment: Result<E, String>, cases: &[Case<E>]) {
    let environment = match environment {
        Ok(environment) => environment,
        Err(why) if std::env::var_os("CI").is_none() => {
            println!("skipped: {what}: {why}");
            println!("0 passed, 0 failed");
            return;
        }
        Err(why) => {
            println!("{what} cannot start: {why}");
            println!("0 passed, 1 failed");
            std::process::exit(1);
        }
    };
    // As libtest: arguments that are not options pick the cases whose names contain them.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let cases: Vec<_> = cases
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    let mut failed = 0;
    for (name, case) in &cases {
        let started = std::time::Instant::now();
        let result = case(&environment);
        let took = started.elapsed().as_secs();
        match result {
            Ok(()) => println!("test {name} ... ok ({took} s)"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED ({took} s): {why}");
            }
        }
    }
    drop(environment);
    println!("{} passed, {failed} failed", cases.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
