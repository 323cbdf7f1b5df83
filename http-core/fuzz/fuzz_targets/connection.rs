//! cargo-fuzz target: arbitrary bytes, arbitrary splits, arbitrary responses.
//! The logic lives in `h1_core_fuzz::connection` so the stable fallback loop runs it too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| h1_core_fuzz::connection(data));
