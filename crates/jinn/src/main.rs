//! jinn: an OCI container runtime with runc's command line.

mod cli;
mod commands;
mod console;
mod container;
mod foreground;
mod logging;
mod passed_fds;
mod protect;
mod saved;
mod signal;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Whether jinn runs rootless (`--rootless true`, or `auto` and not root), set once at
/// start.
static ROOTLESS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

pub fn rootless() -> bool {
    *ROOTLESS.get().unwrap_or(&false)
}

/// `--systemd-cgroup`: new containers get their cgroup from systemd, set once at start.
static SYSTEMD_CGROUP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

pub fn systemd_cgroup() -> bool {
    *SYSTEMD_CGROUP.get().unwrap_or(&false)
}

/// `--root`, or by default /run/jinn, or `$XDG_RUNTIME_DIR/jinn` when rootless.
fn state_root(cli: &Cli) -> std::path::PathBuf {
    if let Some(root) = &cli.root {
        return root.clone();
    }
    if !rootless() {
        return jinn_state::DEFAULT_ROOT.into();
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => std::path::Path::new(&dir).join("jinn"),
        None => format!("/run/user/{}/jinn", nix::unistd::geteuid()).into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rootless = match cli.rootless.as_str() {
        "true" => true,
        "false" => false,
        _ => !nix::unistd::geteuid().is_root(),
    };
    let _ = ROOTLESS.set(rootless);
    // Rootless, --systemd-cgroup means the user's systemd instance (as in runc).
    jinn_cgroups::systemd::use_user_manager(rootless);
    let _ = SYSTEMD_CGROUP.set(cli.systemd_cgroup);
    if cli.version {
        println!("jinn version {}", env!("CARGO_PKG_VERSION"));
        println!("commit: {}", env!("JINN_COMMIT"));
        println!("spec: {}", jinn_state::OCI_VERSION);
        return ExitCode::SUCCESS;
    }
    // The commands that clone into a container run from a binary the container cannot
    // write (CVE-2019-5736); this may re-exec jinn, before it opened anything.
    if matches!(
        cli.command,
        Some(Command::Create(_) | Command::Run(_) | Command::Exec(_))
    ) {
        if let Err(e) = protect::ensure_protected_binary() {
            eprintln!("{e:#}");
            return ExitCode::FAILURE;
        }
    }
    // Before jinn opens anything (the log file included): the fds it is asked to pass on
    // must be the caller's.
    let passed = match &cli.command {
        Some(Command::Create(a)) => a.preserve_fds + passed_fds::listen_fds(),
        Some(Command::Run(a)) => a.create.preserve_fds + passed_fds::listen_fds(),
        Some(Command::Exec(a)) => a.preserve_fds,
        _ => 0,
    };
    if let Err(e) = passed_fds::check_passed_fds(passed) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let to_file = match logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("jinn: open log file: {e}");
            return ExitCode::FAILURE;
        }
    };
    match dispatch(&cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            let msg = format!("{e}");
            tracing::error!("{msg}");
            if to_file {
                eprintln!("{msg}");
            }
            match e.downcast_ref::<ExitWith>() {
                Some(ExitWith(code, _)) => ExitCode::from(*code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// An error that exits with a code of its own instead of 1 (runc's `exec` exits 255).
#[derive(Debug)]
pub struct ExitWith(pub u8, pub anyhow::Error);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.1)
    }
}

impl std::error::Error for ExitWith {}

fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let Some(command) = &cli.command else {
        anyhow::bail!("no command given (see jinn --help)");
    };
    if let Command::Spec { bundle, rootless } = command {
        return commands::spec::run(bundle, *rootless);
    }
    let store = jinn_state::Store::open(&state_root(cli))?;
    match command {
        Command::Create(args) => commands::create::run(&store, args),
        Command::Start { id } => commands::start::run(&store, id),
        Command::State { id } => commands::state::run(&store, id),
        Command::Kill { all, id, signal } => {
            commands::kill::run(&store, id, signal.as_deref(), *all)
        }
        Command::Delete { force, id } => commands::delete::run(&store, id, *force),
        Command::Run(args) => commands::run::run(&store, args),
        Command::List { format, quiet } => commands::list::run(&store, *format, *quiet),
        Command::Exec(args) => commands::exec::run(&store, args)
            .map_err(|e| ExitWith(255, anyhow::anyhow!("exec failed: {e}")).into()),
        Command::Pause { id } => commands::pause::run(&store, id),
        Command::Resume { id } => commands::resume::run(&store, id),
        Command::Ps {
            format,
            id,
            ps_args,
        } => commands::ps::run(&store, id, *format, ps_args),
        Command::Events {
            interval,
            stats,
            id,
        } => commands::events::run(&store, id, interval, *stats),
        Command::Update(args) => commands::update::run(&store, args),
        Command::Features => commands::features::run(),
        Command::Spec { .. } => unreachable!("handled above"),
    }
}
