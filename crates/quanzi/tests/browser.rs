//! The console in a real browser: runs `tests/browser/run.mjs` (Playwright driving
//! Debian's Chromium) against this build of quanzi with demo data. Needs Node.js and
//! `/usr/bin/chromium` with a CJK font (`.ci/run` installs them when missing); installs
//! `playwright-core` into `tests/browser/node_modules` on first run.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_console_works_in_a_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "the browser tests need Chromium at {chromium}: `apt-get install chromium fonts-noto-cjk` (or run .ci/run)"
    );
    if !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (Node.js is needed for the browser tests)");
        assert!(status.success(), "npm ci failed in tests/browser");
    }
    let output = Command::new("node")
        .arg("run.mjs")
        .current_dir(&dir)
        .env("QUANZI_BIN", env!("CARGO_BIN_EXE_quanzi"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("all browser checks passed"));
}
