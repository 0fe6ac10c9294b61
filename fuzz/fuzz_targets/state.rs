#![no_main]
//! state.json → serde_json::from_slice::<jinn_state::State>, and back.

libfuzzer_sys::fuzz_target!(|data: &[u8]| jinn_fuzz::state(data));
