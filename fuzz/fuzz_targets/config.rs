#![no_main]
//! Config files and environment layering (`Config::from_layers`: TOML over the
//! defaults, then `SWARMCAST_*` and the legacy variables, then validation).
//!
//! The input is the file text, a NUL, then environment entries separated by NULs:
//! each entry's first byte picks a variable name, the rest is its value. Properties:
//! an accepted config has a listen address, and written back as TOML it loads the same.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use swarmcast::config::Config;

/// Every variable `from_layers` reads: one per leaf of the defaults, and the legacy ones.
fn env_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        fn leaves(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        leaves(
                            v,
                            &if prefix.is_empty() {
                                k.clone()
                            } else {
                                format!("{prefix}_{k}")
                            },
                            out,
                        );
                    }
                }
                _ => out.push(format!("SWARMCAST_{}", prefix.to_uppercase())),
            }
        }
        let mut out = Vec::new();
        leaves(
            &toml::Value::try_from(Config::default()).unwrap(),
            "",
            &mut out,
        );
        out.extend(
            [
                "PORT",
                "DOWNLOAD_PATH",
                "HLS_PATH",
                "WARM_CACHE_TIMEOUT_MINUTES",
            ]
            .map(String::from),
        );
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let file = parts.next().unwrap_or_default();
    let Ok(file) = std::str::from_utf8(file) else {
        return;
    };
    let names = env_names();
    let mut env = BTreeMap::new();
    for entry in parts {
        let Some((&pick, value)) = entry.split_first() else {
            continue;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return;
        };
        env.insert(
            names[pick as usize % names.len()].clone(),
            value.to_string(),
        );
    }
    let file = (!file.is_empty()).then_some(file);
    let Ok(config) = Config::from_layers(file, &env) else {
        return;
    };
    let _ = config.listen_addr();
    let _ = format!("{config:?}");
    let text = toml::to_string(&config).expect("a config serialises");
    let again = Config::from_layers(Some(&text), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("written back, the config does not load: {e:#}\n{text}"));
    assert_eq!(again, config, "{text}");
});
