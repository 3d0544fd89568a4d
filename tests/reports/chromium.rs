//! The HTML reports in a real browser: headless Chromium (Debian's
//! `chromium`) renders each to PNG. The page must not be blank, must show
//! the colours of its diagram (so the inline SVG was drawn), and Chromium
//! must log no error of the page: no console message (a script, a load the
//! page's policy refused, a resource that failed) and no error but the
//! container's missing D-Bus.
//!
//! Opt-in, so that plain `cargo test` needs no browser:
//! `AIBNET_CHROMIUM=1 cargo test --test reports chromium` (what
//! `scripts/render_html.sh` runs). `AIBNET_CHROMIUM_BIN` names another
//! binary; `AIBNET_SCREENSHOTS=DIR` keeps the PNGs (the README's screenshot
//! is `diagnose-proxy-to-buildvm-dropped.png`).
//!
//! The checks are shown to fail first: a page that runs a script and loads
//! an image is caught by the log check, a blank page by the pixel check.

use crate::common::{aibnet, finish, repo};
use crate::png::{Image, decode};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The window the pages are rendered in (CSS pixels, scale 1).
const WINDOW: (usize, usize) = (1100, 1600);

/// Render `page` to `png` with headless Chromium; its log (stderr).
fn render(page: &Path, png: &Path, profile: &Path) -> String {
    chromium(
        page,
        profile,
        &[
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--screenshot={}", png.display()),
        ],
    )
}

/// Print `page` to `pdf` as Chromium prints it (the page's `@page` size);
/// its log.
fn print(page: &Path, pdf: &Path, profile: &Path) -> String {
    chromium(
        page,
        profile,
        &[
            "--no-pdf-header-footer".to_string(),
            format!("--print-to-pdf={}", pdf.display()),
        ],
    )
}

/// Run headless Chromium on `page` with `args`; its log (stderr).
fn chromium(page: &Path, profile: &Path, args: &[String]) -> String {
    let bin = std::env::var("AIBNET_CHROMIUM_BIN").unwrap_or_else(|_| "chromium".into());
    let mut child = Command::new(&bin)
        .args([
            "--headless",
            // Root in a container has no user namespace for the sandbox.
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--force-device-scale-factor=1",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (apt-get install chromium)"));
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    // A hang guard, not a measure of speed: a browser that never exits is
    // killed, so the run fails on its status below instead of holding CI.
    // Its process is not reaped before `wait` returns, so the pid is still
    // its own when the guard fires.
    let pid = child.id() as libc::pid_t;
    let (exited, guard) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            guard.recv_timeout(Duration::from_secs(600))
        {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let status = child.wait().unwrap();
    drop(exited);
    watchdog.join().unwrap();
    let log = log.join().unwrap();
    assert!(
        status.success(),
        "{bin} failed on {} ({status}; killed if it hung):\n{log}",
        page.display()
    );
    log
}

/// The page's errors in Chromium's log: every console message (the page
/// writes none; a refused script or load, a failed resource all log one),
/// every network error, and every error or fatal line but D-Bus's (a
/// container has no session bus; that is the environment, not the page).
fn page_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("net::ERR_")
                || l.contains(":FATAL:")
                || (l.contains(":ERROR:") && !l.contains(":ERROR:dbus/"))
        })
        .collect()
}

/// Why a screenshot looks blank, if it does: too few colours or too few
/// pixels that are not white.
fn blank(img: &Image) -> Option<String> {
    let mut colours: Vec<[u8; 3]> = img.rgb.clone();
    colours.sort_unstable();
    colours.dedup();
    let inked = img.rgb.iter().filter(|p| **p != [255, 255, 255]).count();
    let share = inked as f64 / img.rgb.len().max(1) as f64;
    if colours.len() < 64 || share < 0.03 {
        Some(format!(
            "{} colours, {:.2} % of the pixels not white",
            colours.len(),
            share * 100.0
        ))
    } else {
        None
    }
}

/// Pixels of a colour (±2 a channel: antialiasing never reaches the
/// middle of a thick line).
fn pixels_of(img: &Image, rgb: [u8; 3]) -> usize {
    img.rgb
        .iter()
        .filter(|p| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 2))
        .count()
}

/// The Okabe–Ito blue (what worked) and vermillion (what failed).
const BLUE: [u8; 3] = [0x00, 0x72, 0xB2];
const VERMILLION: [u8; 3] = [0xD5, 0x5E, 0x00];

fn html_of(args: &[&str], dir: &Path, name: &str) -> PathBuf {
    let out = finish(aibnet().current_dir(repo()).args(args));
    assert!(out.code < 2, "{args:?}: {}", out.stderr);
    assert!(out.stdout.starts_with("<!DOCTYPE html>"), "{args:?}");
    let p = dir.join(name);
    std::fs::write(&p, out.stdout).unwrap();
    p
}

#[test]
fn html_reports_render_in_chromium() {
    if std::env::var_os("AIBNET_CHROMIUM").is_none() {
        eprintln!("skipped: AIBNET_CHROMIUM=1 renders the HTML reports in headless Chromium");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let shot = |page: &Path| -> (Image, String) {
        let png = page.with_extension("png");
        let log = render(page, &png, &profile);
        let img = decode(&std::fs::read(&png).unwrap()).unwrap();
        assert_eq!((img.width, img.height), WINDOW, "{}", png.display());
        (img, log)
    };

    // The checks can fail: a page that runs a script and loads an image
    // (both refused by the policy aibnet's pages carry) logs errors; a
    // white page is blank.
    let canary = dir.path().join("canary.html");
    std::fs::write(
        &canary,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\"></head><body>\
         <script>console.error('ran')</script><img src=\"https://example.invalid/x.png\">\
         </body></html>",
    )
    .unwrap();
    let (img, log) = shot(&canary);
    assert!(!page_errors(&log).is_empty(), "the canary's errors:\n{log}");
    assert!(blank(&img).is_some(), "a white page is blank");

    let reports = [
        (
            html_of(
                &[
                    "diagnose",
                    "--format",
                    "html",
                    "captures/proxy-to-buildvm-dropped/",
                ],
                dir.path(),
                "diagnose-proxy-to-buildvm-dropped.html",
            ),
            true,
        ),
        (
            html_of(
                &["diagnose", "--format", "html", "captures/isolated-blocked/"],
                dir.path(),
                "diagnose-isolated-blocked.html",
            ),
            true,
        ),
        (
            html_of(
                &["diagnose", "--format", "html", "captures/healthy-windows/"],
                dir.path(),
                "diagnose-healthy-windows.html",
            ),
            false,
        ),
        (
            html_of(
                &[
                    "builds",
                    "--format",
                    "html",
                    "captures/proxy-to-buildvm-dropped/",
                    "captures/healthy-linux/",
                ],
                dir.path(),
                "builds.html",
            ),
            true,
        ),
    ];
    for (page, broken) in &reports {
        let (img, log) = shot(page);
        let errors = page_errors(&log);
        assert!(errors.is_empty(), "{}: {errors:#?}", page.display());
        if let Some(why) = blank(&img) {
            panic!("{} renders blank: {why}", page.display());
        }
        // The diagram and timeline were drawn: what worked in blue, and
        // on a broken build what failed in vermillion.
        assert!(pixels_of(&img, BLUE) > 200, "{}: no blue", page.display());
        assert_eq!(
            pixels_of(&img, VERMILLION) > 200,
            *broken,
            "{}: vermillion iff broken",
            page.display()
        );
    }
    // Printed, the broken build's report is a few A4 pages (595 × 842 pt).
    let (page, _) = &reports[0];
    let pdf = page.with_extension("pdf");
    let log = print(page, &pdf, &profile);
    assert!(page_errors(&log).is_empty(), "{log}");
    let pdf = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    let media = text
        .split("/MediaBox [")
        .nth(1)
        .and_then(|m| m.split(']').next())
        .unwrap_or_default();
    let size: Vec<f64> = media
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        matches!(size.as_slice(), [0.0, 0.0, w, h] if (w - 595.0).abs() < 1.0 && (h - 842.0).abs() < 1.0),
        "A4 pages: {media}"
    );
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert!((1..=6).contains(&pages), "{pages} pages");
    if let Some(keep) = std::env::var_os("AIBNET_SCREENSHOTS") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for (page, _) in &reports {
            let png = page.with_extension("png");
            std::fs::copy(&png, keep.join(png.file_name().unwrap())).unwrap();
        }
    }
}
