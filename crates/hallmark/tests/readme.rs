//! The README's by-hand walkthrough, run as written (with the binary under
//! test in place of `target/release/hallmark`), so the README cannot rot.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

use std::process::Command;

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(hallmark_testkit::tools::workspace_root().join("README.md"))
            .unwrap();
    let block = readme
        .split("```sh\n")
        .filter_map(|rest| rest.split("```").next())
        .find(|block| block.contains("hallmark --home ./acme issue"))
        .expect("README has the walkthrough's sh block");
    assert!(
        readme.contains("cargo run --release -- demo"),
        "the README starts with the demo"
    );
    let script: String = block
        .lines()
        .filter(|line| !line.starts_with("cargo build"))
        .map(|line| line.replace("target/release/hallmark", env!("CARGO_BIN_EXE_hallmark")) + "\n")
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env_remove("HALLMARK_PASSPHRASE")
        .env_remove("HALLMARK_HOME")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the README walkthrough failed:\n{script}\n---\n{printed}"
    );
    assert!(printed.contains("device.pem: OK"), "{printed}");
    assert!(dir.path().join("acme/hallmark.toml").exists());
}
