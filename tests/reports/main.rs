//! Reports as their readers get them: the HTML page rendered by a real
//! browser (headless Chromium, opt-in), and the shell completions and
//! manual pages installed beside the binary.

#[path = "../common/mod.rs"]
mod common;

mod chromium;
mod install;
mod png;
