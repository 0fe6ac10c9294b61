//! runtime-tools-conformance: runs OCI runtime-spec conformance cases
//! against a runtime's runc-style CLI and prints TAP.
//!
//! ```text
//! runtime-tools-conformance --runtime PATH [--filter NAME] [--checker PATH] [--list]
//! ```

mod cases;
mod harness;
mod host;
mod more;
mod musts;
mod steps;

use harness::{Case, Report, Runtime};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: runtime-tools-conformance --runtime PATH [--filter NAME] [--checker PATH] [--list]

  --runtime PATH   the runtime under test (runc-compatible CLI)
  --filter NAME    only run cases whose name contains NAME
  --checker PATH   the static conformance-checker binary (default: $CONFORMANCE_CHECKER,
                   or x86_64-unknown-linux-gnu/release/conformance-checker in the target dir)
  --list           list the case names and exit
Set RTC_KEEP=1 to keep the per-case temp dirs.";

fn default_checker() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONFORMANCE_CHECKER") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    // <target>/<profile>/runtime-tools-conformance → <target>/x86_64-…/release/
    let target = exe.parent()?.parent()?;
    let p = target.join("x86_64-unknown-linux-gnu/release/conformance-checker");
    p.exists().then_some(p)
}

fn main() -> ExitCode {
    let mut runtime = None;
    let mut filter = None;
    let mut checker = None;
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runtime" => runtime = args.next(),
            "--filter" => filter = args.next(),
            "--checker" => checker = args.next().map(PathBuf::from),
            "--list" => list = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {a:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let all = cases::all();
    if list {
        for (n, _) in &all {
            println!("{n}");
        }
        return ExitCode::SUCCESS;
    }
    let Some(runtime) = runtime else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Some(checker) = checker.or_else(default_checker) else {
        eprintln!(
            "conformance-checker not found: build it (see docs/conformance.md) or pass --checker"
        );
        return ExitCode::from(2);
    };
    let rt = Runtime::new(&runtime);
    let ctx = cases::Ctx { checker };
    // Distinctive inherited values, so "MUST NOT change" rules can fail.
    let _ = std::fs::write("/proc/self/oom_score_adj", "7");
    // SAFETY: umask(2).
    unsafe { libc::umask(0o022) };

    println!("TAP version 13");
    println!(
        "# runtime {runtime}{}",
        if rt.crun_hybrid_workaround {
            " (each call wrapped in a mount namespace where /sys/fs/cgroup/unified/cgroup.controllers is empty)"
        } else {
            ""
        }
    );
    let mut report = Report::default();
    for (name, f) in all {
        if filter.as_deref().is_some_and(|flt| !name.contains(flt)) {
            continue;
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut c = Case::new(name, &rt, &mut report);
            f(&mut c, &ctx);
        }));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            report.fail(name, "case ran to completion", &format!("panic: {msg}"));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    cases::remove_cgroup_parent();
    println!("1..{}", report.n);
    println!(
        "{} passed, {} failed, {} skipped",
        report.passed, report.failed, report.skipped
    );
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
