//! One pass over a log's lines that records what Packer and AIB did: the
//! configuration dump, each communicator wait with its failed attempts,
//! each customizer's start and end, restarts, captures, ARM errors, lost
//! sessions, the cancellation and Packer's end (SPEC.md §2 of
//! `captures/errors/logs/`).
//!
//! It records, it does not judge: which event ended the build is
//! [`super::failure`]'s question, what it means is the classifier's.

use super::line::{Line, Origin};
use crate::aib::{Communicator, CustomizerType};
use crate::time::Utc;
use serde::Serialize;

/// A line and its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// 1-based line number.
    pub line: usize,
    /// The line's time (its own or inherited).
    pub time: Option<Utc>,
}

impl At {
    fn of(l: &Line<'_>) -> At {
        At {
            line: l.no,
            time: l.time,
        }
    }
}

/// How one attempt to reach the build VM failed (SPEC.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryKind {
    /// WinRM answered `401 - invalid content type`: the listener is up and
    /// refuses Packer (every Windows build while it boots; a hardened image
    /// for good).
    #[serde(rename = "401")]
    Unauthorized,
    /// The build VM answered with a reset (`connection refused`).
    Refused,
    /// `proxyconnect tcp: dial tcp <PE>:6000x` got no answer.
    ProxyTimeout,
    /// The proxy port answered with a reset.
    ProxyRefused,
    /// `Error connecting to bastion: dial tcp <PE>:6000x` got no answer.
    BastionTimeout,
    /// The bastion port answered with a reset.
    BastionRefused,
    /// The bastion answered; its channel to the build VM was refused.
    ChanRefused,
    /// The bastion answered; its channel to the build VM timed out.
    ChanTimeout,
    /// WinRM through the proxy: `context deadline exceeded`.
    Deadline,
    /// A direct dial of the build VM got no answer.
    DirectTimeout,
    /// SSH answered and rejected the key (`unable to authenticate`).
    Auth,
    /// Anything else.
    Other,
}

impl RetryKind {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryKind::Unauthorized => "401",
            RetryKind::Refused => "refused",
            RetryKind::ProxyTimeout => "proxy_timeout",
            RetryKind::ProxyRefused => "proxy_refused",
            RetryKind::BastionTimeout => "bastion_timeout",
            RetryKind::BastionRefused => "bastion_refused",
            RetryKind::ChanRefused => "chan_refused",
            RetryKind::ChanTimeout => "chan_timeout",
            RetryKind::Deadline => "deadline",
            RetryKind::DirectTimeout => "direct_timeout",
            RetryKind::Auth => "auth",
            RetryKind::Other => "other",
        }
    }

    /// Read the error text of one attempt.
    pub fn of(err: &str) -> RetryKind {
        let lower = err.to_ascii_lowercase();
        let timed_out = [
            "i/o timeout",
            "timed out",
            "no route to host",
            "unreachable",
        ]
        .iter()
        .any(|t| lower.contains(t));
        let refused = lower.contains("connection refused");
        if lower.contains("401") && lower.contains("invalid content type") {
            RetryKind::Unauthorized
        } else if lower.contains("ssh: rejected: connect failed") {
            if refused {
                RetryKind::ChanRefused
            } else {
                RetryKind::ChanTimeout
            }
        } else if lower.contains("proxyconnect") {
            if refused {
                RetryKind::ProxyRefused
            } else {
                RetryKind::ProxyTimeout
            }
        } else if lower.contains("connecting to bastion") {
            if refused {
                RetryKind::BastionRefused
            } else {
                RetryKind::BastionTimeout
            }
        } else if lower.contains("context deadline exceeded") {
            RetryKind::Deadline
        } else if refused {
            RetryKind::Refused
        } else if timed_out {
            RetryKind::DirectTimeout
        } else if lower.contains("unable to authenticate") {
            RetryKind::Auth
        } else {
            RetryKind::Other
        }
    }

    /// Whether something answered (a reset, a TLS or HTTP answer, an SSH
    /// rejection): a network deny drops silently, it never answers.
    pub fn answered(self) -> bool {
        matches!(
            self,
            RetryKind::Unauthorized
                | RetryKind::Refused
                | RetryKind::Auth
                | RetryKind::ChanRefused
                | RetryKind::ProxyRefused
                | RetryKind::BastionRefused
        )
    }
}

/// One failed attempt of a communicator wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Where.
    pub at: At,
    /// How it failed.
    pub kind: RetryKind,
}

/// `Waiting for WinRM/SSH to become available...` and what followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The wait's line.
    pub at: At,
    /// SSH or WinRM.
    pub communicator: Communicator,
    /// Packer's timeout (`10m0s`), when its log says.
    pub timeout: Option<String>,
    /// The failed attempts, in order.
    pub attempts: Vec<Attempt>,
    /// `Connected to WinRM!` / `Connected to SSH!`.
    pub connected: Option<At>,
    /// `Timeout waiting for WinRM.` / `Timeout waiting for SSH.`.
    pub timed_out: Option<At>,
}

/// A step AIB adds to every template (SPEC.md §2, ambiguity 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AibStep {
    /// The first File customizer: `/aib/packerInput/DeprovisioningScript.txt`.
    DeprovisionUpload,
    /// The last script: sysprep / `waagent -deprovision`.
    Deprovision,
}

/// One customizer as Packer ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customizer {
    /// Its first line.
    pub start: At,
    /// Its type.
    pub kind: CustomizerType,
    /// A script customizer's temporary script (`/tmp/powershell-provisioner…`).
    pub script: Option<String>,
    /// A File customizer's destination.
    pub target: Option<String>,
    /// The line that ended it, with the exit code.
    pub end: Option<At>,
    /// The exit code of its main command.
    pub exit_code: Option<i64>,
    /// Where the remote command started: output after it is the script's.
    pub command_started: Option<usize>,
    /// The last line that is still its (before the next customizer, the
    /// cancellation or Packer's end).
    pub last: usize,
    /// AIB's own step, when it is one.
    pub aib_step: Option<AibStep>,
}

/// One `ERROR: -> Code : message` line of an ARM error tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    /// Where.
    pub at: At,
    /// How deep in the tree (the spaces between `ERROR:` and `->`).
    pub depth: usize,
    /// The ARM error code.
    pub code: String,
}

/// Packer's own end line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// Where.
    pub at: At,
    /// `finished` rather than `errored`.
    pub finished: bool,
    /// The duration Packer prints (`1 hour 57 minutes`).
    pub after: Option<String>,
    /// Packer's final error.
    pub error: Option<String>,
}

/// The cancellation of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// Where.
    pub at: At,
    /// The signal Packer received, when it says.
    pub signal: Option<String>,
}

/// What Packer's configuration dump and first steps say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildConfig {
    /// `Packer version: …`.
    pub packer_version: Option<String>,
    /// `ImagePublisher=`.
    pub image_publisher: Option<String>,
    /// `ImageOffer=`.
    pub image_offer: Option<String>,
    /// `ImageSku=`.
    pub image_sku: Option<String>,
    /// `VMSize=`.
    pub vm_size: Option<String>,
    /// `VirtualNetworkName=`.
    pub vnet: Option<String>,
    /// `VirtualNetworkSubnetName=`.
    pub subnet: Option<String>,
    /// `VirtualNetworkResourceGroupName=`.
    pub vnet_resource_group: Option<String>,
    /// `-> Network Connection : '…'` (`PrivateEndpoint`: no public IP).
    pub network_connection: Option<String>,
    /// `-> IP Address : '…'`.
    pub ip_address: Option<String>,
}

/// Everything one pass over the lines found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Packer's first line (`[INFO] Packer version: …`).
    pub build_start: Option<At>,
    /// The configuration dump.
    pub config: BuildConfig,
    /// Communicator waits, in order.
    pub waits: Vec<Wait>,
    /// Customizers, in order.
    pub customizers: Vec<Customizer>,
    /// Restarts: begin, and the end when the VM came back.
    pub restarts: Vec<(At, Option<At>)>,
    /// Captures of the OS disk, with what was done.
    pub captures: Vec<(At, &'static str)>,
    /// `Validating/Deploying deployment template ...`.
    pub deployments: Vec<At>,
    /// ARM error lines, in order.
    pub arm_errors: Vec<ArmError>,
    /// `Remote command exited without exit status or exit signal.`.
    pub session_lost: Vec<At>,
    /// `Timeout waiting for machine to restart.`.
    pub restart_timeouts: Vec<At>,
    /// `Retryable error: Machine not yet available (exit status 1115)`.
    pub not_available: Vec<At>,
    /// `Waiting for operation to complete (system performance: 100% cpu …)`.
    pub saturated: Vec<At>,
    /// `Error: Failed to prepare/initialize build`.
    pub prepare_error: Option<At>,
    /// The cancellation.
    pub cancellation: Option<Cancellation>,
    /// Packer's end.
    pub end: Option<End>,
    /// AIB's last line (`Done exporting Packer logs …`).
    pub done_exporting: Option<At>,
    /// Lines that only AIB's container writes (`/aib/packerInput`, `Done exporting`).
    pub aib_markers: usize,
    /// What says Packer ran on someone's machine (`packer.exe`, a
    /// Windows plugin binary).
    pub runner: Option<&'static str>,
}

impl Scan {
    /// Whether the lines show a build at all (a pasted message does not).
    pub fn has_build_events(&self) -> bool {
        self.build_start.is_some()
            || !self.waits.is_empty()
            || !self.customizers.is_empty()
            || !self.arm_errors.is_empty()
            || !self.session_lost.is_empty()
            || self.cancellation.is_some()
            || self.end.is_some()
            || self.prepare_error.is_some()
            || self.done_exporting.is_some()
    }

    /// The customizer a line belongs to.
    pub fn customizer_at(&self, line: usize) -> Option<&Customizer> {
        self.customizers
            .iter()
            .rev()
            .find(|c| c.start.line <= line && line <= c.last)
    }
}

/// The value of `Key=` or `Key : 'value'` in a message.
fn value_after<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    let v = msg.strip_prefix(key)?;
    let v = v.trim().trim_matches(['\'', '‘', '’']).trim();
    (!v.is_empty()).then_some(v)
}

/// `Waiting for WinRM/SSH to become available...` and its kin.
fn communicator_named(s: &str) -> Option<Communicator> {
    if s.starts_with("WinRM") {
        Some(Communicator::Winrm)
    } else if s.starts_with("SSH") {
        Some(Communicator::Ssh)
    } else {
        None
    }
}

/// `[INFO] command '<cmd>' exited with code: N`.
fn command_exit(msg: &str) -> Option<(&str, i64)> {
    let rest = msg.strip_prefix("[INFO] command '")?;
    let (cmd, code) = rest.rsplit_once("' exited with code: ")?;
    Some((cmd, code.trim().parse().ok()?))
}

/// `… Communicator ended with: N`.
fn communicator_ended(msg: &str) -> Option<i64> {
    let (_, code) = msg.split_once("Communicator ended with: ")?;
    code.trim().parse().ok()
}

/// The exit status Packer gives a command whose session was lost.
pub const SESSION_LOST_STATUS: i64 = 2_300_218;

/// Whether a WinRM command is the customizer's own (not the connect check,
/// a cleanup or a restart).
fn is_main_powershell_command(cmd: &str) -> bool {
    let lower = cmd.to_ascii_lowercase();
    lower.starts_with("powershell")
        && !lower.contains("-encodedcommand")
        && !lower.contains("packer-cleanup")
        && !lower.contains("packer-windows-update")
}

/// `Build 'NAME' finished after D.` / `Build 'NAME' errored after D: E` /
/// `Build 'NAME' errored: E`.
fn build_end(msg: &str) -> Option<(bool, Option<String>, Option<String>)> {
    let rest = msg.strip_prefix("Build '")?;
    let (_, rest) = rest.split_once("' ")?;
    let (finished, rest) = if let Some(r) = rest.strip_prefix("finished") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix("errored") {
        (false, r)
    } else {
        return None;
    };
    let (after, error) = match rest.strip_prefix(" after ") {
        Some(r) => match r.split_once(": ") {
            Some((d, e)) => (Some(d.to_string()), Some(e.to_string())),
            None => (Some(r.trim_end_matches('.').to_string()), None),
        },
        None => (None, rest.strip_prefix(": ").map(str::to_string)),
    };
    Some((finished, after, error))
}

/// `ERROR:   -> Code : message`: the depth and the code.
fn arm_error(msg: &str) -> Option<(usize, String)> {
    let rest = msg.strip_prefix("ERROR:")?;
    let depth = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start().strip_prefix("->")?;
    let code = rest.trim_start().split([' ', ':']).next()?;
    (!code.is_empty()).then(|| (depth, code.to_string()))
}

/// Record every event of the lines.
pub fn scan(lines: &[Line<'_>]) -> Scan {
    let mut s = Scan::default();
    // The last "closing" of a File customizer's upload ends it; a UI
    // message in between means the closings are over.
    let mut file_closing_open = false;
    let mut chmod_started = false;
    let mut pending_timeout: Option<String> = None;
    let mut cancelled = false;
    for l in lines {
        let msg = l.msg;
        let at = At::of(l);
        if l.raw.contains("Done exporting Packer logs") {
            s.done_exporting = Some(at);
            s.aib_markers += 1;
            continue;
        }
        if msg.contains("/aib/packerInput") {
            s.aib_markers += 1;
        }
        // `packer.exe` says more than a plugin's Windows binary.
        if let Some(r) = super::super::extract::runner_in(msg) {
            s.runner = Some(r);
        } else if s.runner.is_none() && l.plugin.is_some_and(|p| p.ends_with("_windows_amd64.exe"))
        {
            s.runner = Some("Packer on a Windows host (a Windows plugin binary)");
        }
        if msg.starts_with("Error: Failed to prepare build")
            || msg.starts_with("Error: Failed to initialize build")
        {
            s.prepare_error.get_or_insert(at);
            continue;
        }
        if matches!(l.origin, Origin::Other) {
            continue;
        }
        if (l.builder_said || l.is_ui()) && file_closing_open && !msg.is_empty() {
            file_closing_open = false;
        }

        // Packer's first line and its configuration dump.
        if let Some(v) = msg.split_once("Packer version: ").map(|(_, v)| v) {
            if s.build_start.is_none() && l.plugin.is_none() {
                s.build_start = Some(at);
                s.config.packer_version = Some(v.split(' ').next().unwrap_or(v).to_string());
            }
            continue;
        }
        if l.origin == Origin::Plugin {
            let slots: [(&str, &mut Option<String>); 5] = [
                ("ImagePublisher=", &mut s.config.image_publisher),
                ("ImageOffer=", &mut s.config.image_offer),
                ("ImageSku=", &mut s.config.image_sku),
                ("VMSize=", &mut s.config.vm_size),
                ("VirtualNetworkName=", &mut s.config.vnet),
            ];
            let mut hit = false;
            for (key, slot) in slots {
                if let Some(v) = value_after(msg, key) {
                    slot.get_or_insert_with(|| v.to_string());
                    hit = true;
                }
            }
            for (key, slot) in [
                ("VirtualNetworkSubnetName=", &mut s.config.subnet),
                (
                    "VirtualNetworkResourceGroupName=",
                    &mut s.config.vnet_resource_group,
                ),
            ] {
                if let Some(v) = value_after(msg, key) {
                    slot.get_or_insert_with(|| v.to_string());
                    hit = true;
                }
            }
            if hit {
                continue;
            }
        }
        if l.builder_said {
            let dump = msg.trim_start().strip_prefix("-> ").unwrap_or_default();
            if let Some(v) = dump
                .strip_prefix("Network Connection")
                .and_then(|r| r.trim_start().strip_prefix(':'))
            {
                s.config
                    .network_connection
                    .get_or_insert_with(|| v.trim().trim_matches('\'').to_string());
            }
            if let Some(v) = dump
                .strip_prefix("IP Address")
                .and_then(|r| r.trim_start().strip_prefix(':'))
            {
                s.config
                    .ip_address
                    .get_or_insert_with(|| v.trim().trim_matches('\'').to_string());
            }
        }

        // The end, and the cancellation.
        if let Some((finished, after, error)) = build_end(msg) {
            if s.end.is_none() {
                s.end = Some(End {
                    at,
                    finished,
                    after,
                    error,
                });
            }
            continue;
        }
        if let Some(sig) = msg.strip_prefix("Cancelling build after receiving ") {
            let signal = Some(sig.trim().to_string());
            match &mut s.cancellation {
                // The builder's line can come first (old logs print the
                // receiving line on stdout, after it): it stays the point
                // of failure, the receiving line says why.
                Some(c) if c.signal.is_none() => {
                    c.signal = signal;
                }
                Some(_) => {}
                None => s.cancellation = Some(Cancellation { at, signal }),
            }
            cancelled = true;
            continue;
        }
        if msg.starts_with("Cancelling builder after context cancellation") {
            if s.cancellation.is_none() {
                s.cancellation = Some(Cancellation { at, signal: None });
            }
            cancelled = true;
            continue;
        }

        // Deployment and ARM errors.
        if l.builder_said
            && (msg.starts_with("Validating deployment template")
                || msg.starts_with("Deploying deployment template"))
        {
            s.deployments.push(at);
            continue;
        }
        if let Some((depth, code)) = arm_error(msg) {
            s.arm_errors.push(ArmError { at, depth, code });
            continue;
        }

        // Communicator waits, attempts, connection, timeout.
        if let Some(rest) = msg.strip_prefix("Waiting for ")
            && let Some(c) = communicator_named(rest)
        {
            if let Some(t) = rest.split_once("up to timeout: ").map(|(_, t)| t.trim()) {
                // Packer's log line (before or after the UI's).
                match s.waits.last_mut() {
                    Some(w)
                        if w.communicator == c
                            && w.timeout.is_none()
                            && w.connected.is_none()
                            && w.timed_out.is_none() =>
                    {
                        w.timeout = Some(t.to_string());
                    }
                    _ => pending_timeout = Some(t.to_string()),
                }
            } else if rest.ends_with("to become available...") && l.builder_said {
                s.waits.push(Wait {
                    at,
                    communicator: c,
                    timeout: pending_timeout.take(),
                    attempts: Vec::new(),
                    connected: None,
                    timed_out: None,
                });
            }
            continue;
        }
        let attempt = msg
            .strip_prefix("[ERROR] WinRM connection err: ")
            .or_else(|| msg.strip_prefix("[DEBUG] TCP connection to SSH ip/port failed: "))
            .or_else(|| msg.strip_prefix("[DEBUG] SSH handshake err: "));
        if let Some(err) = attempt {
            if let Some(w) = s.waits.last_mut()
                && w.connected.is_none()
                && w.timed_out.is_none()
            {
                w.attempts.push(Attempt {
                    at,
                    kind: RetryKind::of(err),
                });
            }
            continue;
        }
        if let Some(rest) = msg.strip_prefix("Connected to ")
            && let Some(c) = communicator_named(rest)
            && rest.ends_with('!')
        {
            if let Some(w) = s.waits.iter_mut().rev().find(|w| w.communicator == c)
                && w.connected.is_none()
            {
                w.connected = Some(at);
            }
            continue;
        }
        if let Some(rest) = msg.strip_prefix("Timeout waiting for ") {
            if let Some(c) = communicator_named(rest) {
                if let Some(w) = s.waits.iter_mut().rev().find(|w| w.communicator == c)
                    && w.timed_out.is_none()
                    && w.connected.is_none()
                {
                    w.timed_out = Some(at);
                }
                continue;
            }
            if rest.starts_with("machine to restart") {
                s.restart_timeouts.push(at);
                continue;
            }
        }

        // Session loss and the restart's troubles.
        if msg.contains("Remote command exited without exit status or exit signal") {
            s.session_lost.push(at);
            // The running customizer ends with it (Packer's status for a
            // lost session), unless a cancellation caused it.
            if !cancelled
                && let Some(c) = s.customizers.last_mut()
                && c.end.is_none()
            {
                c.end = Some(at);
                c.exit_code = Some(SESSION_LOST_STATUS);
            }
            continue;
        }
        if msg.contains("Machine not yet available (exit status 1115)") {
            s.not_available.push(at);
            continue;
        }
        if msg.contains("system performance: 100% cpu") {
            s.saturated.push(at);
        }

        // Restarts and captures.
        if l.builder_said
            && (msg.starts_with("Waiting for machine to restart")
                || msg.starts_with("Waiting for machine to become available"))
        {
            s.restarts.push((at, None));
            continue;
        }
        if l.builder_said && msg.starts_with("Machine successfully restarted") {
            if let Some((_, end)) = s.restarts.last_mut()
                && end.is_none()
            {
                *end = Some(at);
            }
            if let Some(c) = s.customizers.last_mut()
                && c.kind == CustomizerType::WindowsRestart
                && c.end.is_none()
            {
                c.end = Some(at);
                c.exit_code = Some(0);
            }
            continue;
        }
        if l.builder_said {
            let what = if msg.starts_with("Snapshotting OS disk") {
                Some("OS disk snapshot")
            } else if msg.starts_with("Capturing image") {
                Some("image capture")
            } else if msg.starts_with("Skipping image creation") {
                Some("image creation skipped")
            } else {
                None
            };
            if let Some(what) = what {
                s.captures.push((at, what));
                continue;
            }
        }

        // Customizers.
        if !cancelled && let Some(start) = customizer_start(l, s.customizers.last()) {
            match start {
                Start::New(c) => {
                    close_last(&mut s.customizers, l.no);
                    s.customizers.push(c);
                    chmod_started = false;
                    file_closing_open = false;
                }
                Start::Script(path) => {
                    if let Some(c) = s.customizers.last_mut() {
                        c.script = Some(path);
                    }
                }
            }
            continue;
        }
        let Some(c) = s.customizers.last_mut() else {
            continue;
        };
        if c.end.is_some() && !(c.kind == CustomizerType::File && file_closing_open) {
            // Steps AIB adds recognise themselves by what they run.
            if c.aib_step.is_none() && is_deprovision(msg) {
                c.aib_step = Some(AibStep::Deprovision);
            }
            continue;
        }
        if cancelled {
            continue;
        }
        if c.aib_step.is_none() && is_deprovision(msg) {
            c.aib_step = Some(AibStep::Deprovision);
        }
        if msg.contains("starting remote command: ") {
            c.command_started.get_or_insert(l.no);
            if msg.contains("starting remote command: chmod +x") {
                chmod_started = true;
            }
        }
        match c.kind {
            CustomizerType::File => {
                if msg == "closing" {
                    c.end = Some(at);
                    c.exit_code = Some(0);
                    file_closing_open = true;
                }
            }
            CustomizerType::Powershell => {
                if let Some((cmd, code)) = command_exit(msg)
                    && is_main_powershell_command(cmd)
                {
                    c.end = Some(at);
                    c.exit_code = Some(code);
                }
            }
            CustomizerType::Shell => {
                if let Some(code) = msg
                    .strip_prefix("[ERROR] Remote command exited with '")
                    .and_then(|r| r.split_once('\''))
                    .and_then(|(n, _)| n.parse::<i64>().ok())
                {
                    c.end = Some(at);
                    c.exit_code = Some(code);
                } else if let Some(code) = communicator_ended(msg)
                    && code != SESSION_LOST_STATUS
                    && (chmod_started || code != 0)
                {
                    c.end = Some(at);
                    c.exit_code = Some(code);
                }
            }
            CustomizerType::WindowsRestart | CustomizerType::WindowsUpdate => {}
        }
    }
    let last_line = lines.last().map_or(0, |l| l.no);
    let stop = [
        s.cancellation.as_ref().map(|c| c.at.line),
        s.end.as_ref().map(|e| e.at.line),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(last_line);
    close_last(&mut s.customizers, stop.saturating_add(1));
    s
}

/// The AIB deprovisioning commands (sysprep wrapper, waagent).
fn is_deprovision(msg: &str) -> bool {
    msg.contains("TEST-PATH c:\\DeprovisioningScript.ps1")
        || msg.contains("waagent -force -deprovision")
        || msg.contains("& c:\\DeprovisioningScript.ps1")
}

/// The last customizer ends, at the latest, on the line before `next`.
fn close_last(list: &mut [Customizer], next: usize) {
    if let Some(c) = list.last_mut() {
        c.last = next.saturating_sub(1).max(c.start.line);
    }
}

enum Start {
    New(Customizer),
    Script(String),
}

/// A UI line that starts a customizer (or names the script of the one that
/// just started).
fn customizer_start(l: &Line<'_>, open: Option<&Customizer>) -> Option<Start> {
    if !l.builder_said {
        return None;
    }
    let msg = l.msg;
    let new = |kind: CustomizerType| Customizer {
        start: At::of(l),
        kind,
        script: None,
        target: None,
        end: None,
        exit_code: None,
        command_started: None,
        last: l.no,
        aib_step: None,
    };
    if msg.starts_with("Provisioning with Powershell...") {
        return Some(Start::New(new(CustomizerType::Powershell)));
    }
    if let Some(path) = msg.strip_prefix("Provisioning with powershell script: ") {
        let path = path.trim().to_string();
        return match open {
            Some(c)
                if c.kind == CustomizerType::Powershell
                    && c.script.is_none()
                    && c.end.is_none() =>
            {
                Some(Start::Script(path))
            }
            _ => {
                let mut c = new(CustomizerType::Powershell);
                c.script = Some(path);
                Some(Start::New(c))
            }
        };
    }
    if let Some(path) = msg.strip_prefix("Provisioning with shell script: ") {
        let mut c = new(CustomizerType::Shell);
        c.script = Some(path.trim().to_string());
        return Some(Start::New(c));
    }
    if let Some(rest) = msg.strip_prefix("Uploading ")
        && let Some((src, dst)) = rest.split_once(" => ")
    {
        let mut c = new(CustomizerType::File);
        c.target = Some(dst.trim().to_string());
        if src.contains("/aib/packerInput/DeprovisioningScript") {
            c.aib_step = Some(AibStep::DeprovisionUpload);
        }
        return Some(Start::New(c));
    }
    if msg.starts_with("Restarting Machine") {
        return Some(Start::New(new(CustomizerType::WindowsRestart)));
    }
    if msg.starts_with("Uploading the Windows update elevated script")
        || msg.starts_with("Running Windows update...")
    {
        if open.is_some_and(|c| c.kind == CustomizerType::WindowsUpdate && c.end.is_none()) {
            return None;
        }
        return Some(Start::New(new(CustomizerType::WindowsUpdate)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_kinds() {
        for (text, kind) in [
            (
                "http response error: 401 - invalid content type",
                RetryKind::Unauthorized,
            ),
            (
                r#"unknown error Post "https://10.1.0.6:5986/wsman": proxyconnect tcp: dial tcp 10.2.0.5:60000: i/o timeout"#,
                RetryKind::ProxyTimeout,
            ),
            (
                "Error connecting to bastion: dial tcp 10.2.0.5:60001: connect: connection timed out",
                RetryKind::BastionTimeout,
            ),
            (
                "ssh: rejected: connect failed (Connection refused)",
                RetryKind::ChanRefused,
            ),
            (
                "ssh: rejected: connect failed (Connection timed out)",
                RetryKind::ChanTimeout,
            ),
            (
                r#"unknown error Post "https://10.1.0.6:5986/wsman": context deadline exceeded"#,
                RetryKind::Deadline,
            ),
            (
                "dial tcp 10.1.0.6:22: i/o timeout",
                RetryKind::DirectTimeout,
            ),
            (
                "dial tcp 10.1.0.6:22: connect: connection refused",
                RetryKind::Refused,
            ),
            (
                "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]",
                RetryKind::Auth,
            ),
            ("something else", RetryKind::Other),
        ] {
            assert_eq!(RetryKind::of(text), kind, "{text}");
        }
        assert!(RetryKind::Refused.answered() && !RetryKind::DirectTimeout.answered());
    }

    #[test]
    fn end_lines_and_arm_errors() {
        assert_eq!(
            build_end(
                "Build 'azure-arm' errored after 6 minutes 1 second: Script disconnected unexpectedly."
            ),
            Some((
                false,
                Some("6 minutes 1 second".to_string()),
                Some("Script disconnected unexpectedly.".to_string())
            ))
        );
        assert_eq!(
            build_end("Build 'azure-arm' finished after 5 minutes 58 seconds."),
            Some((true, Some("5 minutes 58 seconds".to_string()), None))
        );
        assert_eq!(
            build_end("Build 'azure-arm' errored: unexpected EOF"),
            Some((false, None, Some("unexpected EOF".to_string())))
        );
        assert_eq!(
            build_end("Builds finished but no artifacts were created."),
            None
        );
        assert_eq!(
            arm_error("ERROR:   -> SubnetIsFull : Subnet x"),
            Some((3, "SubnetIsFull".to_string()))
        );
        assert_eq!(arm_error("ERROR: nothing"), None);
        assert_eq!(
            command_exit(
                "[INFO] command 'powershell -executionpolicy bypass -file \"C:/x.ps1\"' exited with code: 1"
            ),
            Some(("powershell -executionpolicy bypass -file \"C:/x.ps1\"", 1))
        );
        assert_eq!(
            communicator_ended("[INFO] RPC endpoint: Communicator ended with: 100"),
            Some(100)
        );
    }
}
