//! Compile an OCI `linux.seccomp` JSON file, print timings (and the program with
//! `--dump`), and install it in a child process to time seccomp(2).
//!
//! cargo run --release -p jinn-seccomp --example seccomp-compile -- FILE [--dump]

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: seccomp-compile FILE [--dump]");
    let text = std::fs::read_to_string(path).expect("read");
    let t = Instant::now();
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let spec = jinn_seccomp::parse(&value).expect("parse");
    let parsed = t.elapsed();
    let filter = jinn_seccomp::compile(&spec).expect("compile");
    let compiled = t.elapsed();
    println!(
        "json+parse {parsed:?}, +compile {compiled:?}: {} instructions, skipped {:?}",
        filter.program().len(),
        filter.skipped_names()
    );
    let t = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(jinn_seccomp::compile(&spec).expect("compile"));
    }
    println!("warm compile: {:?} each", t.elapsed() / 100);
    if args.iter().any(|a| a == "--dump") {
        print!("{}", jinn_seccomp::bpf::disassemble(filter.program()));
    }
    // SAFETY: the child only makes raw syscalls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let t = Instant::now();
        // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) has no memory arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        let ok = filter.install().is_ok();
        let us = t.elapsed().as_micros() as i32;
        // SAFETY: ends the child; the exit code carries the install time (capped).
        unsafe { libc::_exit(if ok { us.min(250) } else { 255 }) }
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    println!(
        "install (prctl + seccomp): {} µs",
        libc::WEXITSTATUS(status)
    );
}
