//! cargo-fuzz target: arbitrary server bytes in arbitrary splits through the client role.
//! The logic lives in `h1_core_fuzz::client` so the stable fallback loop runs it too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| h1_core_fuzz::client(data));
