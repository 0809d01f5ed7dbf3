//! The fuzz targets (`stream_control::fuzzing`, run under AFL++ by the `fuzz/` crate) in the
//! normal suite: every target has a binary and seeds, and every seed and every input that once
//! crashed a target (`fuzz/regressions/<target>/`) runs through it without a panic.

use std::path::{Path, PathBuf};
use stream_control::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files in `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

#[test]
fn every_target_has_a_binary_and_seeds_and_every_binary_a_target() {
    let bins: Vec<String> = files(&fuzz_dir().join("src/bin"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(bins, names, "fuzz/src/bin/*.rs and fuzzing::TARGETS differ");
    for (name, _) in TARGETS {
        let bin = std::fs::read_to_string(fuzz_dir().join(format!("src/bin/{name}.rs"))).unwrap();
        assert!(
            bin.contains(&format!("stream_control::fuzzing::{name}(data)")),
            "fuzz/src/bin/{name}.rs does not run its own target"
        );
        assert!(
            !files(&fuzz_dir().join("seeds").join(name)).is_empty(),
            "no seeds in fuzz/seeds/{name}"
        );
    }
}

#[test]
fn seeds_and_former_crashes_run_through_every_target() {
    let mut ran = 0;
    let mut wrong = Vec::new();
    for (name, target) in TARGETS {
        let inputs = files(&fuzz_dir().join("seeds").join(name))
            .into_iter()
            .chain(files(&fuzz_dir().join("regressions").join(name)));
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            // A panic names the input: the test's output shows which file to look at.
            eprintln!("{name}: {}", path.display());
            let read = target(&data);
            ran += 1;
            // A seed is read by its parser unless named `refused_…`, so a corpus starts past
            // the first refusal; former crashes may go either way.
            let file = path.file_name().unwrap().to_string_lossy();
            if path.starts_with(fuzz_dir().join("seeds")) {
                let refused = file.starts_with("refused_");
                if read == refused {
                    wrong.push(format!("{name}/{file} (read: {read})"));
                }
            }
        }
    }
    assert!(ran > TARGETS.len(), "only {ran} inputs ran");
    assert!(
        wrong.is_empty(),
        "seeds read other than their names say: {wrong:#?}"
    );
}
