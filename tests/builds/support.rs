//! Test support for `builds`: a tiny pcap writer, AIB traffic generators
//! (proxy and isolated builds, healthy and broken), a pcap time shifter for
//! real captures, and a small XML reader for checking JUnit structure.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::Path;

pub use crate::common::bytes::{ACK, FIN, PSH, RST, SYN};

/// Seconds since the epoch of 2024-08-19T00:00:00Z.
pub const DAY0: i64 = 1_724_025_600;

/// One IPv4 packet to write.
#[derive(Clone)]
struct Pkt {
    ts_us: i64,
    bytes: Vec<u8>,
}

/// A capture under construction (LINKTYPE_RAW, microsecond pcap).
#[derive(Default)]
pub struct Pcap {
    pkts: Vec<Pkt>,
    next_port: u16,
    isn: u32,
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test address")
}

fn ipv4(proto: u8, src: &str, dst: &str, l4: &[u8], payload: usize) -> Vec<u8> {
    let total = 20 + l4.len() + payload;
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&[0x45, 0]);
    v.extend_from_slice(&(total as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&ip(src).octets());
    v.extend_from_slice(&ip(dst).octets());
    let mut sum: u32 = 0;
    for c in v.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    v[10..12].copy_from_slice(&ck.to_be_bytes());
    v.extend_from_slice(l4);
    v.resize(total, b'x');
    v
}

impl Pcap {
    pub fn new() -> Self {
        Pcap {
            pkts: Vec::new(),
            next_port: 40000,
            isn: 1000,
        }
    }

    fn port(&mut self) -> u16 {
        self.next_port = if self.next_port >= 65000 {
            40000
        } else {
            self.next_port + 1
        };
        self.next_port
    }

    /// One TCP segment at `t` seconds (fractional) since the epoch.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        t: f64,
        src: &str,
        sport: u16,
        dst: &str,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: usize,
    ) {
        let mut h = Vec::with_capacity(20);
        h.extend_from_slice(&sport.to_be_bytes());
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&ack.to_be_bytes());
        h.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        self.pkts.push(Pkt {
            ts_us: (t * 1e6).round() as i64,
            bytes: ipv4(6, src, dst, &h, payload),
        });
    }

    /// One UDP datagram.
    pub fn udp(&mut self, t: f64, src: &str, sport: u16, dst: &str, dport: u16, payload: usize) {
        let mut h = Vec::with_capacity(8);
        h.extend_from_slice(&sport.to_be_bytes());
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        self.pkts.push(Pkt {
            ts_us: (t * 1e6).round() as i64,
            bytes: ipv4(17, src, dst, &h, payload),
        });
    }

    /// A complete TCP conversation (handshake, data both ways, FIN close)
    /// lasting `dur` seconds: Zeek state SF.
    pub fn conn_ok(&mut self, t: f64, c: &str, s: &str, dport: u16, dur: f64) {
        let sp = self.port();
        self.isn = self.isn.wrapping_add(100_000);
        let (ci, si) = (self.isn, self.isn.wrapping_add(50_000));
        self.tcp(t, c, sp, s, dport, SYN, ci, 0, 0);
        self.tcp(t + 0.001, s, dport, c, sp, SYN | ACK, si, ci + 1, 0);
        self.tcp(t + 0.002, c, sp, s, dport, ACK, ci + 1, si + 1, 0);
        self.tcp(t + 0.003, c, sp, s, dport, PSH | ACK, ci + 1, si + 1, 100);
        self.tcp(t + 0.004, s, dport, c, sp, PSH | ACK, si + 1, ci + 101, 200);
        let e = t + dur.max(0.01);
        self.tcp(e, c, sp, s, dport, FIN | ACK, ci + 101, si + 201, 0);
        self.tcp(e + 0.001, s, dport, c, sp, FIN | ACK, si + 201, ci + 102, 0);
        self.tcp(e + 0.002, c, sp, s, dport, ACK, ci + 102, si + 202, 0);
    }

    /// SYNs that nobody answers (the SYN and three retransmissions): S0.
    pub fn conn_blocked(&mut self, t: f64, c: &str, s: &str, dport: u16) {
        let sp = self.port();
        self.isn = self.isn.wrapping_add(100_000);
        for dt in [0.0, 1.0, 3.0, 7.0] {
            self.tcp(t + dt, c, sp, s, dport, SYN, self.isn, 0, 0);
        }
    }

    /// A SYN answered by RST: REJ.
    pub fn conn_rejected(&mut self, t: f64, c: &str, s: &str, dport: u16) {
        let sp = self.port();
        self.isn = self.isn.wrapping_add(100_000);
        self.tcp(t, c, sp, s, dport, SYN, self.isn, 0, 0);
        self.tcp(t + 0.001, s, dport, c, sp, RST | ACK, 0, self.isn + 1, 0);
    }

    /// A DNS query, answered or not.
    pub fn dns(&mut self, t: f64, c: &str, server: &str, answered: bool) {
        let sp = self.port();
        self.udp(t, c, sp, server, 53, 40);
        if answered {
            self.udp(t + 0.002, server, 53, c, sp, 80);
        }
    }

    /// Write the capture, packets in time order.
    pub fn write(&self, path: &Path) {
        let mut pkts = self.pkts.clone();
        pkts.sort_by_key(|p| p.ts_us);
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&101u32.to_le_bytes());
        for p in &pkts {
            out.extend_from_slice(&((p.ts_us / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((p.ts_us % 1_000_000) as u32).to_le_bytes());
            let n = p.bytes.len() as u32;
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&p.bytes);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create capture dir");
        }
        std::fs::write(path, out).expect("write capture");
    }
}

/// What breaks in a generated build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    ProbeBlocked,
    AlbBlocked,
    ProxyToBuildBlocked,
    BuildPortRejected,
    EgressBlocked,
    DnsBlocked,
}

/// Addresses of the lab's build subnet (reused by every run).
pub const PROXY: &str = "10.1.0.4";
pub const PLNAT: &str = "10.1.0.5";
pub const BUILD: &str = "10.1.0.6";
pub const ACI: &str = "10.1.1.4";
pub const DNS: &str = "10.1.2.4";
pub const PROBE: &str = "168.63.129.16";
pub const MIRROR: &str = "52.147.219.192";

/// A proxy build seen on the build subnet's segment, starting at `t0` (s)
/// and lasting `dur` s: probes every 5 s, a command session every 20 s,
/// each forwarded by the proxy to the build VM, and the build VM's DNS and
/// downloads.
pub fn proxy_build(p: &mut Pcap, t0: f64, dur: f64, windows: bool, fault: Fault) {
    let (pport, bport) = if windows { (60000, 5986) } else { (60001, 22) };
    let mut t = t0;
    while t < t0 + dur {
        if fault == Fault::ProbeBlocked {
            p.conn_blocked(t, PROBE, PROXY, pport);
        } else {
            p.conn_ok(t, PROBE, PROXY, pport, 0.01);
        }
        t += 5.0;
    }
    if fault == Fault::ProbeBlocked {
        // The load balancer forwards nothing to an unhealthy proxy.
        return;
    }
    let mut t = t0 + 30.0;
    while t < t0 + dur - 10.0 {
        match fault {
            Fault::AlbBlocked => p.conn_blocked(t, PLNAT, PROXY, pport),
            Fault::ProxyToBuildBlocked => {
                p.conn_ok(t, PLNAT, PROXY, pport, 8.0);
                p.conn_blocked(t + 0.2, PROXY, BUILD, bport);
            }
            Fault::BuildPortRejected => {
                p.conn_ok(t, PLNAT, PROXY, pport, 0.5);
                p.conn_rejected(t + 0.2, PROXY, BUILD, bport);
            }
            _ => {
                p.conn_ok(t, PLNAT, PROXY, pport, 8.0);
                p.conn_ok(t + 0.2, PROXY, BUILD, bport, 7.5);
            }
        }
        t += 20.0;
    }
    let forwarding = matches!(
        fault,
        Fault::None | Fault::EgressBlocked | Fault::DnsBlocked
    );
    if forwarding {
        build_vm_egress(p, t0 + 60.0, fault, windows);
    }
}

/// The build VM's customization traffic: DNS, then downloads (and KMS on
/// Windows).
pub fn build_vm_egress(p: &mut Pcap, t: f64, fault: Fault, windows: bool) {
    for k in 0..3 {
        let tk = t + f64::from(k) * 15.0;
        p.dns(tk, BUILD, DNS, fault != Fault::DnsBlocked);
        if fault == Fault::DnsBlocked {
            continue;
        }
        for port in [80, 443] {
            if fault == Fault::EgressBlocked {
                p.conn_blocked(tk + 0.1, BUILD, MIRROR, port);
            } else {
                p.conn_ok(tk + 0.1, BUILD, MIRROR, port, 2.0);
            }
        }
        if windows {
            p.conn_ok(tk + 0.2, BUILD, "20.118.99.224", 1688, 1.0);
        }
    }
}

/// An isolated build: the ACI opens SSH to the build VM directly.
pub fn isolated_build(p: &mut Pcap, t0: f64, dur: f64, blocked: bool) {
    let mut t = t0;
    while t < t0 + dur {
        if blocked {
            p.conn_blocked(t, ACI, BUILD, 22);
        } else {
            p.conn_ok(t, ACI, BUILD, 22, 10.0);
        }
        t += 20.0;
    }
    if !blocked {
        build_vm_egress(p, t0 + 20.0, Fault::None, false);
    }
}

/// Unrelated traffic of other VMs: web clients, egress, scans of a public
/// IP's SSH (none of it AIB).
pub fn noise(p: &mut Pcap, t0: f64, dur: f64) {
    let mut t = t0;
    while t < t0 + dur {
        p.conn_ok(t, "10.2.0.7", "20.42.73.25", 443, 3.0);
        p.dns(t + 0.5, "10.2.0.7", DNS, true);
        p.conn_blocked(t + 1.0, "203.0.113.50", "10.2.0.8", 22);
        p.conn_ok(t + 2.0, "198.51.100.7", "10.2.0.8", 443, 1.0);
        t += 30.0;
    }
}

/// Copy a classic pcap shifting every timestamp by `delta_s` seconds (any of
/// the four byte-order / resolution magics). Returns false for a file that
/// is not a classic pcap.
pub fn shift_pcap(src: &Path, dst: &Path, delta_s: i64) -> bool {
    let Ok(mut b) = std::fs::read(src) else {
        return false;
    };
    if b.len() < 24 {
        return false;
    }
    let magic = [b[0], b[1], b[2], b[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return false,
    };
    let rd = |b: &[u8]| -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut at = 24;
    while at + 16 <= b.len() {
        let sec = rd(&b[at..at + 4]);
        let incl = rd(&b[at + 8..at + 12]) as usize;
        let shifted = (i64::from(sec) + delta_s) as u32;
        let bytes = if le {
            shifted.to_le_bytes()
        } else {
            shifted.to_be_bytes()
        };
        b[at..at + 4].copy_from_slice(&bytes);
        at += 16 + incl;
    }
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(dst, b).expect("write shifted capture");
    true
}

/// An XML element (enough of XML for JUnit documents: elements,
/// attributes, text, the declaration, self-closing tags and the five
/// predefined entities).
#[derive(Debug, Default, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').ok_or("unterminated entity")? + i;
        out.push_str(match &rest[i + 1..end] {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            e => return Err(format!("unknown entity &{e};")),
        });
        rest = &rest[end + 1..];
    }
    if rest.contains('<') {
        return Err("raw '<' in text".into());
    }
    out.push_str(rest);
    Ok(out)
}

/// Parse a document into its root element; well-formedness errors are
/// returned as text.
pub fn parse_xml(doc: &str) -> Result<Element, String> {
    let mut s = doc.trim_start();
    if let Some(r) = s.strip_prefix("<?xml") {
        let end = r.find("?>").ok_or("unterminated declaration")?;
        s = r[end + 2..].trim_start();
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix("</") {
            let end = r.find('>').ok_or("unterminated end tag")?;
            let name = r[..end].trim();
            let el = stack.pop().ok_or("end tag without start")?;
            if el.name != name {
                return Err(format!("</{name}> closes <{}>", el.name));
            }
            match stack.last_mut() {
                Some(p) => p.children.push(el),
                None => root = Some(el),
            }
            s = &r[end + 1..];
        } else if let Some(r) = s.strip_prefix('<') {
            let end = r.find('>').ok_or("unterminated tag")?;
            let mut inner = &r[..end];
            let selfclose = inner.ends_with('/');
            if selfclose {
                inner = &inner[..inner.len() - 1];
            }
            let name_end = inner
                .find(|c: char| c.is_whitespace())
                .unwrap_or(inner.len());
            let mut el = Element {
                name: inner[..name_end].to_string(),
                ..Element::default()
            };
            let mut a = inner[name_end..].trim();
            while !a.is_empty() {
                let eq = a.find('=').ok_or("attribute without value")?;
                let key = a[..eq].trim().to_string();
                let v = a[eq + 1..].trim_start();
                let v = v.strip_prefix('"').ok_or("attribute value not quoted")?;
                let close = v.find('"').ok_or("unterminated attribute")?;
                if el.attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("duplicate attribute {key}"));
                }
                el.attrs.push((key, unescape(&v[..close])?));
                a = v[close + 1..].trim_start();
            }
            if root.is_some() {
                return Err("content after the root element".into());
            }
            if selfclose {
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            } else {
                stack.push(el);
            }
            s = &r[end + 1..];
        } else {
            let end = s.find('<').unwrap_or(s.len());
            let text = unescape(&s[..end])?;
            match stack.last_mut() {
                Some(p) => p.text.push_str(&text),
                None if text.trim().is_empty() => {}
                None => return Err("text outside the root element".into()),
            }
            s = &s[end..];
        }
    }
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    root.ok_or_else(|| "no root element".to_string())
}

/// Check the structure the Ant/Jenkins JUnit schema requires, with the
/// attributes aibnet promises: `testsuites > testsuite[name, tests, failures,
/// errors, skipped, time] > testcase[name, classname, time] >
/// failure[message] | error[message] | skipped`, and counts that add up.
pub fn check_junit(doc: &str) -> Result<Element, String> {
    let root = parse_xml(doc)?;
    if root.name != "testsuites" {
        return Err(format!("root is <{}>", root.name));
    }
    let num = |e: &Element, k: &str| -> Result<usize, String> {
        e.attr(k)
            .ok_or(format!("<{}> lacks {k}", e.name))?
            .parse()
            .map_err(|_| format!("<{}> {k} is not a number", e.name))
    };
    let secs = |e: &Element| -> Result<(), String> {
        let t = e.attr("time").ok_or(format!("<{}> lacks time", e.name))?;
        t.parse::<f64>()
            .map(|_| ())
            .map_err(|_| format!("time {t:?} is not seconds"))
    };
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for suite in &root.children {
        if suite.name != "testsuite" {
            return Err(format!("<{}> under <testsuites>", suite.name));
        }
        suite.attr("name").ok_or("testsuite without name")?;
        secs(suite)?;
        let (t, f, e, s) = (
            num(suite, "tests")?,
            num(suite, "failures")?,
            num(suite, "errors")?,
            num(suite, "skipped")?,
        );
        let cases = suite.all("testcase");
        let count = |n: &str| cases.iter().filter(|c| !c.all(n).is_empty()).count();
        if cases.len() != t || count("failure") != f || count("error") != e || count("skipped") != s
        {
            return Err(format!(
                "suite {:?}: counts do not match its test cases",
                suite.attr("name")
            ));
        }
        for c in &suite.children {
            match c.name.as_str() {
                "properties" => {
                    for p in &c.children {
                        if p.name != "property"
                            || p.attr("name").is_none()
                            || p.attr("value").is_none()
                        {
                            return Err("bad property".into());
                        }
                    }
                }
                "system-out" | "system-err" => {}
                "testcase" => {
                    c.attr("name").ok_or("testcase without name")?;
                    c.attr("classname").ok_or("testcase without classname")?;
                    secs(c)?;
                    for k in &c.children {
                        match k.name.as_str() {
                            "failure" | "error" => {
                                k.attr("message").ok_or("failure/error without message")?;
                            }
                            "skipped" | "system-out" | "system-err" => {}
                            other => return Err(format!("<{other}> in a testcase")),
                        }
                    }
                }
                other => return Err(format!("<{other}> in a testsuite")),
            }
        }
        tests += t;
        failures += f;
        errors += e;
    }
    if num(&root, "tests")? != tests
        || num(&root, "failures")? != failures
        || num(&root, "errors")? != errors
    {
        return Err("testsuites totals do not add up".into());
    }
    Ok(root)
}

/// Validate with `xmllint --schema` against `tests/builds_junit.xsd` when
/// xmllint is installed. Returns whether it ran.
pub fn xmllint(doc: &str) -> bool {
    let xsd = crate::common::repo().join("tests/builds_junit.xsd");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, doc).expect("write junit");
    match std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "xmllint rejects the JUnit document:\n{}\n{doc}",
                String::from_utf8_lossy(&out.stderr)
            );
            true
        }
        Err(_) => false,
    }
}

/// Copy a tree of flow-log blobs shifting every time in it by `hours`: the
/// records' `time`, every tuple's timestamp (seconds or milliseconds) and the
/// `y=/m=/d=/h=` folders of the blob paths. Returns the files written.
pub fn shift_flowlogs(src: &Path, dst: &Path, hours: i64) -> usize {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        for p in v {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    fn shift_value(v: &mut serde_json::Value, secs: i64) {
        use serde_json::Value;
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match (k.as_str(), &mut *x) {
                        ("time", Value::String(s)) => {
                            let t = aibnet::time::parse(s).expect("record time");
                            *s = aibnet::time::rfc3339(t + secs * 1_000_000_000, 7);
                        }
                        ("flowTuples", Value::Array(a)) => {
                            for t in a.iter_mut() {
                                if let Value::String(s) = t {
                                    let (ts, rest) = s.split_once(',').expect("tuple");
                                    let ts: i64 = ts.parse().expect("tuple time");
                                    let ts = if ts >= 100_000_000_000 {
                                        ts + secs * 1000
                                    } else {
                                        ts + secs
                                    };
                                    *s = format!("{ts},{rest}");
                                }
                            }
                        }
                        _ => shift_value(x, secs),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| shift_value(x, secs)),
            _ => {}
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    for f in &files {
        let rel = f.strip_prefix(src).unwrap().to_string_lossy().into_owned();
        let rel = match rel.find("y=") {
            Some(at) => {
                let field = |k: &str| -> i64 {
                    let i = rel[at..].find(k).unwrap() + at + k.len();
                    rel[i..i + if k == "y=" { 4 } else { 2 }].parse().unwrap()
                };
                // The month follows `y=`; the minute folder is `m=00` after `h=`.
                let (y, mo, d, h) = (field("y="), field("/m="), field("/d="), field("/h="));
                let days = aibnet::time::days_from_civil(y, mo as u32, d as u32);
                let t = ((days * 24 + h + hours) * 3600) * 1_000_000_000;
                let s = aibnet::time::rfc3339(t, 0);
                let end = rel[at..].find("/h=").unwrap() + at + 5;
                format!(
                    "{}y={}/m={}/d={}/h={}{}",
                    &rel[..at],
                    &s[0..4],
                    &s[5..7],
                    &s[8..10],
                    &s[11..13],
                    &rel[end..]
                )
            }
            None => rel,
        };
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).expect("flow-log JSON");
        shift_value(&mut v, hours * 3600);
        let out = dst.join(rel);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(&out, v.to_string()).unwrap();
    }
    files.len()
}
