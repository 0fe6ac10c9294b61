//! The command line, flag for flag as runc's.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "jinn",
    about = "an OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    /// Root directory for storage of container state
    #[arg(long, default_value = jinn_state::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Set the log file to write jinn logs to (default is stderr)
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// Enable systemd cgroup support
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// Ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, default_value = "auto")]
    pub rootless: String,
    /// Path to the criu binary used for checkpoint and restore (accepted, unused)
    #[arg(long)]
    pub criu: Option<PathBuf>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container
    Create(CreateArgs),
    /// Execute the user-defined process in a created container
    Start { id: String },
    /// Output the state of a container
    State { id: String },
    /// Send the specified signal (default: SIGTERM) to the container's init process
    Kill {
        /// Send the signal to all processes in the container
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(allow_hyphen_values = true)]
        signal: Option<String>,
    },
    /// Delete any resources held by the container
    Delete {
        /// Forcibly delete the container if it is still running (uses SIGKILL)
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and run a container
    Run(RunArgs),
    /// List containers started by jinn with the given root
    List {
        /// Select one of: table or json
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Display only container IDs
        #[arg(short, long)]
        quiet: bool,
    },
    /// Create a new specification file
    Spec {
        /// Path to the root of the bundle directory
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// Generate a configuration for a rootless container
        #[arg(long)]
        rootless: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Path to the root of the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Path to an AF_UNIX socket which will receive the pty master
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// Do not use a child subreaper to reap processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Keep the container's state directory and cgroup after it exits
    #[arg(long)]
    pub keep: bool,
}
