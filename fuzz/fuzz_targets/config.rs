#![no_main]
//! config.json → jinn_config::parse → validate → translate.

libfuzzer_sys::fuzz_target!(|data: &[u8]| jinn_fuzz::config(data));
