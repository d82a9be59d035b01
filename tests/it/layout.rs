//! The layout rules of `src/` (README "How it is built"), by `scripts/check-layout.py`:
//! no import cycle, no import from a module above in the flow, no file over 700 lines.

#[test]
fn src_has_no_import_cycle_no_upward_import_and_no_long_file() {
    let out = std::process::Command::new("python3")
        .args(["scripts/check-layout.py", "src"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains(" modules: 0 import cycles"), "{said}");
}
