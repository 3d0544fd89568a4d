//! `aibnet completions SHELL` and `aibnet man`: what the README's
//! installation steps put in place, generated from the same flags as
//! `--help`.

use crate::common::run;

#[test]
fn completions_for_each_shell_name_the_commands_and_formats() {
    for (shell, marker) in [
        ("bash", "_aibnet()"),
        ("zsh", "#compdef aibnet"),
        ("fish", "complete -c aibnet"),
        ("elvish", "edit:completion:arg-completer[aibnet]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}:\n{}", out.stdout);
        for word in ["diagnose", "builds", "explain"] {
            assert!(out.stdout.contains(word), "{shell}: {word}");
        }
        // The shells that complete values offer the formats.
        if matches!(shell, "bash" | "zsh" | "fish") {
            for word in ["html", "junit"] {
                assert!(out.stdout.contains(word), "{shell}: {word}");
            }
        }
    }
    let bad = run(["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_pages_describe_every_command() {
    let out = run(["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(".TH aibnet 1"), "{}", out.stdout);
    assert!(out.stdout.contains("diagnose"), "{}", out.stdout);
    let dir = tempfile::tempdir().unwrap();
    let out = run(["man", "--dir"]
        .into_iter()
        .map(String::from)
        .chain([dir.path().display().to_string()]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "aibnet.1",
        "aibnet-diagnose.1",
        "aibnet-builds.1",
        "aibnet-explain.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let diagnose = std::fs::read_to_string(dir.path().join("aibnet-diagnose.1")).unwrap();
    for flag in ["format", "fail\\-on", "html"] {
        assert!(
            diagnose.contains(flag),
            "aibnet-diagnose.1 documents {flag}"
        );
    }
}
