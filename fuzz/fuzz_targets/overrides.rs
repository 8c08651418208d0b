//! Fuzz target: arbitrary `--set KEY=VALUE` strings applied to a valid scenario.
//! Must give `Ok` or an error, never panic; an error caused by a field names it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmsim::scenario::Scenario;

const BASE: &str = r#"
name = "f"
seed = 3
[file]
size = "10 MB"
chunk = "256 KiB"
[server]
upload = "10 Mbit/s"
[[peers]]
name = "a"
count = 3
upload = "1 Mbit/s"
download = "10 Mbit/s"
[[peers]]
count = 2
upload = "0 bit/s"
download = "unlimited"
[protocol]
kind = "client-server"
[network]
model = "max-min"
"#;

fuzz_target!(|data: &str| {
    // Up to three overrides, separated by newlines (as repeated `--set` flags).
    let kvs: Vec<String> = data.splitn(3, '\n').map(str::to_string).collect();
    match Scenario::from_toml(BASE, "f.toml", &kvs) {
        Ok(s) => assert!(s.chunk_bytes <= s.file_bytes && s.peers() >= 1),
        Err(e) => {
            assert!(e.file.starts_with("f.toml"), "{e}");
            let _ = e.to_string();
        }
    }
});
