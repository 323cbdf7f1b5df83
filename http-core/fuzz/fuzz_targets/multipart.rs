//! cargo-fuzz target: arbitrary bytes through the multipart/form-data parser, whole and
//! split. The logic lives in `h1_core_fuzz::multipart` so the stable loop runs it too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| h1_core_fuzz::multipart(data));
