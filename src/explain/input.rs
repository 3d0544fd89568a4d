//! Turn whatever the user pasted into the text the patterns run on.
//!
//! Input shapes seen in practice:
//! * plain log text (`customization.log`, Packer output), possibly with ANSI
//!   colour codes and CRLF line ends;
//! * `az image builder show` / ARM JSON, where the message sits in
//!   `lastRunStatus.message` and the template itself says its name, region,
//!   subnet and run times;
//! * a JSON fragment pasted from such output, with `\"`, `\n` and `\u0027`
//!   escapes still in it (sometimes twice, when ARM nests an error inside a
//!   `message` string).
//!
//! Everything here is total: any bytes give some text, never an error.

use crate::time::Utc;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// Facts read from the structure of a JSON input (not from its text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonHints {
    /// `lastRunStatus.startTime`.
    pub start_time: Option<Utc>,
    /// `lastRunStatus.endTime`.
    pub end_time: Option<Utc>,
    /// Top-level `location` of the template.
    pub location: Option<String>,
    /// Top-level `name`, when the document is an image template.
    pub template: Option<String>,
    /// Top-level `resourceGroup` (as `az` prints it), when an image template.
    pub resource_group: Option<String>,
    /// `vnetConfig.subnetId`.
    pub subnet_id: Option<String>,
    /// `vnetConfig.containerInstanceSubnetId` (isolated builds with your own ACI subnet).
    pub aci_subnet_id: Option<String>,
    /// `stagingResourceGroup`.
    pub staging_resource_group: Option<String>,
    /// `lastRunStatus.runState` (Running, Canceling, Succeeded,
    /// PartiallySucceeded, Failed, Canceled).
    pub run_state: Option<String>,
    /// `lastRunStatus.runSubState` (Queued, Building, Customizing,
    /// Optimizing, Validating, Distributing).
    pub run_sub_state: Option<String>,
    /// `lastRunStatus.message`.
    pub run_message: Option<String>,
    /// The 1-based line of `lastRunStatus.message` in the document.
    pub message_line: Option<usize>,
    /// `buildTimeoutInMinutes` as written (0 means AIB's default).
    pub build_timeout_minutes: Option<u64>,
    /// `vmProfile.vmSize`.
    pub vm_size: Option<String>,
    /// `customize[].name`, in rank order (empty names kept, as `""`).
    pub customizer_names: Vec<String>,
    /// `privateLinkServiceNetworkPolicies` of a subnet document, and its line.
    pub pls_policies: Option<(String, usize)>,
}

impl JsonHints {
    /// Whether the document carries a run of an image template.
    pub fn is_run_status(&self) -> bool {
        self.run_state.is_some() || self.run_message.is_some()
    }
}

/// The text to search, and what the input's structure told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Normalised text: unescaped, LF line ends, no ANSI codes.
    pub text: String,
    /// Whether the input was a JSON document (line numbers then mean little).
    pub from_json: bool,
    /// Structural facts from a JSON document.
    pub hints: JsonHints,
}

// Justified exception: a constant pattern, compiled by every test of prepare().
#[allow(clippy::expect_used)]
static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("static regex compiles"));

/// Normalise raw input bytes.
pub fn prepare(raw: &[u8]) -> Prepared {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let text = ANSI.replace_all(text, "");
    let text = text.replace("\r\n", "\n").replace('\r', "\n");

    let trimmed = text.trim();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(doc) = serde_json::from_str::<Value>(trimmed)
    {
        let mut strings = Vec::new();
        collect_strings(&doc, &mut strings, 0);
        let mut hints = JsonHints::default();
        read_hints(&doc, &mut hints);
        read_run_hints(&doc, &text, &mut hints);
        return Prepared {
            text: strings.join("\n"),
            from_json: true,
            hints,
        };
    }
    Prepared {
        text: unescape_if_escaped(&text),
        from_json: false,
        hints: JsonHints::default(),
    }
}

// JSON nests at most this deep before we stop walking (hostile input).
const MAX_DEPTH: usize = 64;

fn collect_strings(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::String(s) => out.push(unescape_if_escaped(s).replace("\r\n", "\n")),
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect_strings(i, out, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|i| collect_strings(i, out, depth + 1)),
        _ => {}
    }
}

fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn str_ci(v: &Value, key: &str) -> Option<String> {
    get_ci(v, key)?
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The document's resource (a one-element array is its element) and where
/// its properties are: `az image builder show` prints them flattened, ARM
/// JSON keeps them under `properties`, so both places are looked in.
fn resource(doc: &Value) -> (&Value, &Value) {
    let root = match doc {
        Value::Array(items) => match items.as_slice() {
            [only] => only,
            _ => doc,
        },
        other => other,
    };
    (root, get_ci(root, "properties").unwrap_or(root))
}

fn read_hints(doc: &Value, h: &mut JsonHints) {
    let (root, props) = resource(doc);
    let is_template = str_ci(root, "type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.VirtualMachineImages/imageTemplates"));
    if is_template {
        h.template = str_ci(root, "name");
        h.resource_group = str_ci(root, "resourceGroup");
    }
    h.location = str_ci(root, "location");
    for scope in [props, root] {
        if let Some(run) = get_ci(scope, "lastRunStatus") {
            h.start_time = h
                .start_time
                .or_else(|| str_ci(run, "startTime").and_then(|t| Utc::parse(&t).ok()));
            h.end_time = h
                .end_time
                .or_else(|| str_ci(run, "endTime").and_then(|t| Utc::parse(&t).ok()));
        }
        if let Some(vnet) = get_ci(scope, "vmProfile").and_then(|p| get_ci(p, "vnetConfig")) {
            h.subnet_id = h.subnet_id.take().or_else(|| str_ci(vnet, "subnetId"));
            h.aci_subnet_id = h
                .aci_subnet_id
                .take()
                .or_else(|| str_ci(vnet, "containerInstanceSubnetId"));
        }
        h.staging_resource_group = h
            .staging_resource_group
            .take()
            .or_else(|| str_ci(scope, "stagingResourceGroup"));
    }
}

/// The 1-based line of the first line at or after `from` (1-based) that
/// contains `needle`.
fn line_of(text: &str, needle: &str, from: usize) -> Option<usize> {
    text.split('\n')
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

/// Run status, timeout, VM size and customizer names of an image template;
/// a subnet's private link service policies. Line numbers are the
/// document's own, so a point of failure can cite them.
fn read_run_hints(doc: &Value, text: &str, h: &mut JsonHints) {
    let (root, props) = resource(doc);
    for scope in [props, root] {
        if let Some(run) = get_ci(scope, "lastRunStatus") {
            h.run_state = h.run_state.take().or_else(|| str_ci(run, "runState"));
            h.run_sub_state = h
                .run_sub_state
                .take()
                .or_else(|| str_ci(run, "runSubState"));
            if h.run_message.is_none()
                && let Some(m) = str_ci(run, "message")
            {
                h.run_message = Some(m);
                let from = line_of(text, "\"lastRunStatus\"", 1).unwrap_or(1);
                h.message_line = line_of(text, "\"message\"", from);
            }
        }
        if h.build_timeout_minutes.is_none() {
            h.build_timeout_minutes =
                get_ci(scope, "buildTimeoutInMinutes").and_then(Value::as_u64);
        }
        if h.vm_size.is_none() {
            h.vm_size = get_ci(scope, "vmProfile").and_then(|p| str_ci(p, "vmSize"));
        }
        if h.customizer_names.is_empty()
            && let Some(list) = get_ci(scope, "customize").and_then(Value::as_array)
        {
            h.customizer_names = list
                .iter()
                .map(|c| str_ci(c, "name").unwrap_or_default())
                .collect();
        }
        if h.pls_policies.is_none()
            && let Some(v) = str_ci(scope, "privateLinkServiceNetworkPolicies")
        {
            let line = line_of(text, "\"privateLinkServiceNetworkPolicies\"", 1).unwrap_or(1);
            h.pls_policies = Some((v, line));
        }
    }
}

/// Undo JSON string escapes when the text shows it still carries them
/// (a `\"` somewhere); up to three layers, as ARM nests error JSON in strings.
pub fn unescape_if_escaped(s: &str) -> String {
    let mut out = s.to_string();
    for _ in 0..3 {
        if !out.contains("\\\"") {
            break;
        }
        out = unescape_once(&out);
    }
    out
}

fn unescape_once(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('"') => {
                chars.next();
                out.push('"');
            }
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('/') => {
                chars.next();
                out.push('/');
            }
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('r') => {
                chars.next();
            }
            Some('t') => {
                chars.next();
                out.push('\t');
            }
            Some('u') => {
                let hex: String = chars.clone().skip(1).take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        for _ in 0..5 {
                            chars.next();
                        }
                        out.push(ch);
                    }
                    _ => out.push('\\'),
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_kept_with_lf_and_without_colours() {
        let p = prepare(b"\xef\xbb\xbfa\r\n\x1b[1;31mTimeout waiting for SSH.\x1b[0m\rb");
        assert_eq!(p.text, "a\nTimeout waiting for SSH.\nb");
        assert!(!p.from_json);
    }

    #[test]
    fn escaped_fragment_is_unescaped() {
        let p = prepare(br#""message": "Post \"https://10.1.2.3:5986/wsman\": context deadline exceeded\nnext \u0027x\u0027""#);
        assert!(
            p.text
                .contains(r#"Post "https://10.1.2.3:5986/wsman": context"#),
            "{}",
            p.text
        );
        assert!(p.text.contains("\nnext 'x'"), "{}", p.text);
    }

    #[test]
    fn double_escaped_arm_error_is_unescaped_twice() {
        let p = prepare(br#"{\"error\": {\"code\": \"SubnetIsFull\", \"message\": \"Subnet a with address prefix 10.0.0.0/29 does not have enough capacity for 1 IP addresses.\\\"x\\\"\"}}"#);
        assert!(p.text.contains(r#""code": "SubnetIsFull""#), "{}", p.text);
        assert!(p.text.contains(r#"addresses."x""#), "{}", p.text);
    }

    #[test]
    fn az_show_json_gives_hints_and_message() {
        let doc = br#"{
          "id": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-img/providers/Microsoft.VirtualMachineImages/imageTemplates/win-tpl",
          "location": "westeurope",
          "name": "win-tpl",
          "resourceGroup": "rg-img",
          "type": "Microsoft.VirtualMachineImages/imageTemplates",
          "lastRunStatus": {"startTime": "2024-05-14T09:50:12.1234567+00:00",
                            "endTime": "2024-05-14T10:31:02Z",
                            "message": "Failed: Post \"https://10.0.1.6:5986/wsman\": x"},
          "vmProfile": {"vnetConfig": {"subnetId": "/subscriptions/s/resourceGroups/v/providers/Microsoft.Network/virtualNetworks/n/subnets/b"}}
        }"#;
        let p = prepare(doc);
        assert!(p.from_json);
        assert_eq!(p.hints.template.as_deref(), Some("win-tpl"));
        assert_eq!(p.hints.resource_group.as_deref(), Some("rg-img"));
        assert_eq!(p.hints.location.as_deref(), Some("westeurope"));
        assert_eq!(
            p.hints.start_time.map(|t| t.to_string()).as_deref(),
            Some("2024-05-14T09:50:12Z")
        );
        assert_eq!(
            p.hints.end_time.map(|t| t.to_string()).as_deref(),
            Some("2024-05-14T10:31:02Z")
        );
        assert!(
            p.hints
                .subnet_id
                .as_deref()
                .is_some_and(|s| s.ends_with("/subnets/b"))
        );
        assert!(p.text.contains(r#"Post "https://10.0.1.6:5986/wsman": x"#));
    }

    #[test]
    fn broken_escapes_and_deep_json_do_not_panic() {
        let _ = unescape_once("\\u12\\u{zz}\\\\\\");
        let _ = unescape_if_escaped("\\\"\\u00e9\\ud800");
        let deep = "[".repeat(100) + &"]".repeat(100);
        let p = prepare(deep.as_bytes());
        assert!(p.text.is_empty());
        let _ = prepare(&[0xff, 0xfe, b'{', 0x00]);
    }
}
