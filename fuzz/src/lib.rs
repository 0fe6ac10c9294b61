//! The fuzz harnesses as plain functions: the `fuzz_targets/` binaries call them from
//! libFuzzer (nightly), and the tests below run them over the seed corpus (stable).

use std::path::Path;

/// The bundle path the config is interpreted against: it does not exist, so nothing the
/// fuzzer writes ever names a real file (validate and translate only compute paths).
pub const BUNDLE: &str = "/nonexistent/jinn-fuzz-bundle";

/// `config.json` bytes through the whole interpreter: parse, validate, translate.
///
/// Properties: no panic on any input; whatever `validate` accepts, `translate` turns into
/// a plan without panicking, and the plan's paths stay absolute.
pub fn config(data: &[u8]) {
    let Ok(spec) = jinn_config::parse(data) else {
        return;
    };
    let bundle = Path::new(BUNDLE);
    if jinn_config::validate(&spec, bundle).is_err() {
        return;
    }
    if let Ok(plan) = jinn_config::translate(&spec, bundle) {
        assert!(
            plan.rootfs.is_absolute(),
            "rootfs {:?} is not absolute",
            plan.rootfs
        );
        for m in &plan.mounts {
            assert!(
                m.destination.is_absolute(),
                "mount destination {:?} is not absolute",
                m.destination
            );
        }
        assert!(plan.process.cwd.is_absolute(), "cwd {:?}", plan.process.cwd);
    }
}

/// `state.json` bytes as jinn reads them back.
///
/// Properties: no panic on any input; a state that parses serializes and parses back
/// to the same value.
pub fn state(data: &[u8]) {
    let Ok(st) = serde_json::from_slice::<jinn_state::State>(data) else {
        return;
    };
    let again = serde_json::to_vec(&st).expect("a parsed state serializes");
    let back: jinn_state::State =
        serde_json::from_slice(&again).expect("a serialized state parses back");
    assert_eq!(st, back, "state does not round-trip");
}

#[cfg(test)]
mod tests {
    use std::fs;

    fn corpus(dir: &str) -> Vec<Vec<u8>> {
        let path = format!("{}/corpus/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut v: Vec<Vec<u8>> = fs::read_dir(path)
            .unwrap()
            .flatten()
            .map(|e| fs::read(e.path()).unwrap())
            .collect();
        v.push(Vec::new());
        v.push(b"{}".to_vec());
        v.push(b"null".to_vec());
        v
    }

    #[test]
    fn config_seeds() {
        for input in corpus("config") {
            super::config(&input);
        }
    }

    #[test]
    fn state_seeds() {
        for input in corpus("state") {
            super::state(&input);
        }
    }
}
