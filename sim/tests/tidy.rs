//! TigerBeetle-style tidy check: the simulation must not read the machine's
//! clock, use unseeded or unnamed generators, or keep time in floats.

use super::*;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_wall_clock_or_unnamed_randomness_in_the_simulation() {
    // Allowed places: the run loop measures wall_seconds for the report only;
    // the CLI may time sweeps for progress bars.
    let allowed_instant = ["run.rs", "main.rs", "compare.rs", "check.rs"];
    let forbidden = [
        "SystemTime",
        "thread_rng",
        "StdRng",
        "rand::rng()",
        "from_entropy",
        "OsRng",
    ];
    let mut files = Vec::new();
    rust_files(&repo().join("sim"), &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for w in forbidden {
                if code.contains(w) {
                    bad.push(format!("{}:{}: uses {w}", f.display(), i + 1));
                }
            }
            if code.contains("Instant::now") && !allowed_instant.contains(&name.as_str()) {
                bad.push(format!("{}:{}: reads the wall clock", f.display(), i + 1));
            }
            if code.contains("as_secs_f64") && !allowed_instant.contains(&name.as_str()) {
                bad.push(format!("{}:{}: float time", f.display(), i + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
