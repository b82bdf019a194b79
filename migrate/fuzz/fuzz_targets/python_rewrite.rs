//! Any bytes: no panic; input that parses still parses after the rewrite; a second pass
//! changes nothing. Run: `cd migrate/fuzz && cargo fuzz run -s none python_rewrite`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = migrate::python::properties::check(data) {
        panic!("{broken}");
    }
});
