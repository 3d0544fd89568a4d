//! JUnit XML for CI test reporters (Azure DevOps `PublishTestResults`,
//! GitHub test-report actions, Jenkins): one `<testsuite>` per diagnosed
//! build, one `<testcase>` per hop.
//!
//! ```text
//! testsuites[name,tests,failures,errors,time]
//! └─ testsuite[name,tests,failures,errors,skipped,time,timestamp,hostname,id,package]
//!    ├─ properties > property[name,value]   verdict, topology, os, roles, times
//!    ├─ testcase[name=<hop>,classname=<run id>,time]
//!    │    failure[message=<finding title>,type=<finding id>]  evidence, cause, fix
//!    │    skipped[message]                                     hop not observed
//!    ├─ system-out                                             verdict and path diagram
//!    └─ system-err
//! ```
//!
//! A hop fails when a finding of warning or error concerns it; it is skipped
//! when no capture point or flow log could see it. Inputs that could not be
//! read become `<error>` test cases of a suite of their own, so a CI run
//! shows them instead of passing quietly. The layout follows the Ant/Jenkins
//! JUnit schema (`tests/builds_junit.xsd` checks it).

use super::Style;
use super::diagram::{diagram, verdict_line};
use crate::aib::{Hop, HopStatus, Severity};
use crate::analyze::Analysis;
use crate::builds::{Builds, run_id};
use crate::diagnose::Diagnosis;
use crate::findings::Finding;
use crate::hops::HopReport;
use crate::ingest::Skipped;
use crate::time::rfc3339;
use std::io::Write;

/// The hostname written into every suite.
const HOSTNAME: &str = "aibnet";

/// One test suite: the hops of one diagnosed build.
pub struct Suite<'a> {
    /// Suite name (the run id).
    pub name: String,
    /// Classname of its test cases.
    pub classname: String,
    /// The diagnosis.
    pub diagnosis: &'a Diagnosis,
    /// First evidence (ns), for `timestamp`.
    pub start: Option<i64>,
    /// Last evidence (ns), for `time`.
    pub end: Option<i64>,
    /// Extra properties.
    pub properties: Vec<(&'static str, String)>,
}

/// Text for XML content (see [`super::escape::xml`]).
fn escape(s: &str) -> String {
    super::escape::xml(s).into_owned()
}

/// An attribute value: escaped, line breaks as spaces (attribute values are
/// normalised anyway).
fn attr(s: &str) -> String {
    escape(&s.replace(['\n', '\r', '\t'], " "))
}

/// `YYYY-MM-DDTHH:MM:SS`, the Ant schema's timestamp (UTC, no zone).
fn timestamp(ns: i64) -> String {
    rfc3339(ns, 0).trim_end_matches('Z').to_string()
}

/// Seconds with millisecond precision, as `time` attributes want them.
fn seconds(ns: i64) -> String {
    format!("{:.3}", ns.max(0) as f64 / 1e9)
}

enum Outcome<'a> {
    Pass,
    Fail(Vec<&'a Finding>),
    Skip(String),
}

struct Case<'a> {
    hop: Hop,
    report: Option<&'a HopReport>,
    outcome: Outcome<'a>,
}

/// The test cases of a diagnosis: every hop, plus `deployment` when a
/// finding concerns it.
fn cases(d: &Diagnosis) -> Vec<Case<'_>> {
    let failing = |hop: Hop| -> Vec<&Finding> {
        d.findings
            .iter()
            .filter(|f| f.hop == hop && f.severity >= Severity::Warning)
            .collect()
    };
    let mut out: Vec<Case<'_>> = d
        .hops
        .iter()
        .map(|h| {
            let f = failing(h.hop);
            let outcome = if !f.is_empty() {
                Outcome::Fail(f)
            } else if h.status == HopStatus::NotObserved {
                let why = d
                    .findings
                    .iter()
                    .find(|f| f.hop == h.hop)
                    .map(|f| f.title.clone())
                    .or_else(|| h.note.clone())
                    .unwrap_or_else(|| "no session of this hop in the evidence".to_string());
                Outcome::Skip(why)
            } else if h.status.is_failure() {
                Outcome::Fail(Vec::new())
            } else {
                Outcome::Pass
            };
            Case {
                hop: h.hop,
                report: Some(h),
                outcome,
            }
        })
        .collect();
    let dep = failing(Hop::Deployment);
    if !dep.is_empty() {
        out.push(Case {
            hop: Hop::Deployment,
            report: None,
            outcome: Outcome::Fail(dep),
        });
    }
    out
}

fn failure_text(fs: &[&Finding]) -> String {
    let mut t = String::new();
    for f in fs {
        t.push_str(&format!("[{}] {}: {}\n", f.severity, f.id, f.title));
        t.push_str("evidence:\n");
        for e in &f.evidence {
            t.push_str(&format!("  - {e}\n"));
        }
        t.push_str(&format!("cause: {}\nfix: {}\n\n", f.cause, f.fix));
    }
    t
}

fn hop_summary(h: &HopReport) -> String {
    format!(
        "{} :{} {}: {} of {} session(s) ok",
        h.hop.label(),
        h.ports_text(),
        h.status,
        h.attempts - h.failed,
        h.attempts
    )
}

fn write_suite(
    w: &mut dyn Write,
    s: &Suite<'_>,
    id: usize,
) -> std::io::Result<(usize, usize, usize)> {
    let cases = cases(s.diagnosis);
    let tests = cases.len();
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skip(_)))
        .count();
    let dur = match (s.start, s.end) {
        (Some(a), Some(z)) => z - a,
        _ => 0,
    };
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="{}" timestamp="{}" hostname="{HOSTNAME}" id="{id}" package="aibnet">"#,
        attr(&s.name),
        seconds(dur),
        timestamp(s.start.unwrap_or(0)),
    )?;
    writeln!(w, "    <properties>")?;
    let d = s.diagnosis;
    let ips = |v: &[std::net::IpAddr]| {
        v.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut props: Vec<(&str, String)> = vec![
        ("verdict", d.verdict.as_str().to_string()),
        (
            "topology",
            crate::aib::kind_name(d.topology.kind).to_string(),
        ),
        ("os", crate::aib::os_name(d.topology.os).to_string()),
        ("proxy", ips(&d.topology.roles.proxy)),
        ("build_vm", ips(&d.topology.roles.build_vm)),
        ("aci", ips(&d.topology.roles.aci)),
        (
            "first_broken_hop",
            d.first_broken_hop()
                .map_or(String::new(), |h| h.hop.as_str().to_string()),
        ),
    ];
    if let Some(t) = s.start {
        props.push(("start", rfc3339(t, 3)));
    }
    if let Some(t) = s.end {
        props.push(("end", rfc3339(t, 3)));
    }
    props.extend(s.properties.iter().map(|(k, v)| (*k, v.clone())));
    for (k, v) in props {
        writeln!(
            w,
            r#"      <property name="{}" value="{}"/>"#,
            attr(k),
            attr(&v)
        )?;
    }
    writeln!(w, "    </properties>")?;
    for c in &cases {
        let open = format!(
            r#"    <testcase name="{}" classname="{}" time="0.000""#,
            c.hop.as_str(),
            attr(&s.classname)
        );
        match &c.outcome {
            Outcome::Pass => writeln!(w, "{open}/>")?,
            Outcome::Skip(why) => {
                writeln!(w, "{open}>")?;
                writeln!(w, r#"      <skipped message="{}"/>"#, attr(why))?;
                writeln!(w, "    </testcase>")?;
            }
            Outcome::Fail(fs) => {
                writeln!(w, "{open}>")?;
                let (message, kind, text) = match fs.first() {
                    Some(f) => (f.title.clone(), f.id.to_string(), failure_text(fs)),
                    None => {
                        let m = c
                            .report
                            .map_or_else(|| format!("{} failed", c.hop.label()), hop_summary);
                        (m.clone(), "hop_failed".to_string(), m)
                    }
                };
                let mut text = text;
                if let Some(h) = c.report {
                    text.push_str(&hop_summary(h));
                    text.push('\n');
                }
                writeln!(
                    w,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    attr(&message),
                    attr(&kind),
                    escape(&text)
                )?;
                writeln!(w, "    </testcase>")?;
            }
        }
    }
    let mut out = verdict_line(d, &Style::plain());
    out.push_str("\n\n");
    out.push_str(&diagram(d, &Style::plain()));
    let mut roles: Vec<&String> = Vec::new();
    for e in &d.topology.evidence {
        if !roles.contains(&e) {
            roles.push(e);
            out.push_str(&format!("role: {e}\n"));
        }
    }
    writeln!(w, "    <system-out>{}</system-out>", escape(&out))?;
    writeln!(w, "    <system-err/>")?;
    writeln!(w, "  </testsuite>")?;
    Ok((tests, failures, skipped))
}

/// Write a JUnit document: the suites, then a suite of unreadable inputs
/// (one `<error>` test case each) when there are any. A document with
/// nothing to report gets one skipped test case, since some reporters
/// treat a file without tests as a fault.
pub fn write(
    w: &mut dyn Write,
    name: &str,
    suites: &[Suite<'_>],
    skipped: &[Skipped],
) -> std::io::Result<()> {
    // Suites are rendered first so the root can carry the totals.
    let mut body: Vec<u8> = Vec::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    let mut time = 0i64;
    for (i, s) in suites.iter().enumerate() {
        let (t, f, _) = write_suite(&mut body, s, i)?;
        tests += t;
        failures += f;
        if let (Some(a), Some(z)) = (s.start, s.end) {
            time += z - a;
        }
    }
    let mut extra = suites.len();
    if suites.is_empty() {
        writeln!(
            body,
            r#"  <testsuite name="{}" tests="1" failures="0" errors="0" skipped="1" time="0.000" timestamp="{}" hostname="{HOSTNAME}" id="0" package="aibnet">"#,
            attr(name),
            timestamp(0)
        )?;
        writeln!(
            body,
            r#"    <testcase name="runs" classname="{}" time="0.000">"#,
            attr(name)
        )?;
        writeln!(
            body,
            r#"      <skipped message="No Image Builder run found in the evidence"/>"#
        )?;
        writeln!(body, "    </testcase>")?;
        writeln!(body, "    <system-out/>\n    <system-err/>\n  </testsuite>")?;
        tests += 1;
        extra += 1;
    }
    if !skipped.is_empty() {
        writeln!(
            body,
            r#"  <testsuite name="aibnet inputs" tests="{n}" failures="0" errors="{n}" skipped="0" time="0.000" timestamp="{}" hostname="{HOSTNAME}" id="{extra}" package="aibnet">"#,
            timestamp(suites.iter().filter_map(|s| s.start).min().unwrap_or(0)),
            n = skipped.len()
        )?;
        for s in skipped {
            writeln!(
                body,
                r#"    <testcase name="{}" classname="aibnet.inputs" time="0.000">"#,
                attr(&s.path)
            )?;
            writeln!(
                body,
                r#"      <error message="{}" type="unreadable_input">{}</error>"#,
                attr(&s.reason),
                escape(&s.to_string())
            )?;
            writeln!(body, "    </testcase>")?;
        }
        writeln!(body, "    <system-out/>\n    <system-err/>\n  </testsuite>")?;
        tests += skipped.len();
        errors += skipped.len();
    }
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="{}" tests="{tests}" failures="{failures}" errors="{errors}" time="{}">"#,
        attr(name),
        seconds(time)
    )?;
    w.write_all(&body)?;
    writeln!(w, "</testsuites>")
}

/// `aibnet diagnose --format junit`: one suite, classname `aibnet.diagnose`
/// (stable from one CI run to the next, so reporters keep each hop's history).
pub fn write_diagnose(w: &mut dyn Write, d: &Diagnosis, a: &Analysis) -> std::io::Result<()> {
    let start = a.sessions.iter().map(|s| s.first_ts).min();
    let end = a.sessions.iter().map(|s| s.last_ts).max();
    let suite = Suite {
        name: start.map_or_else(|| "aibnet diagnose".to_string(), |t| run_id(t, d)),
        classname: "aibnet.diagnose".to_string(),
        diagnosis: d,
        start,
        end,
        properties: vec![("inputs", a.inputs.len().to_string())],
    };
    write(w, "aibnet diagnose", &[suite], &a.skipped)
}

/// `aibnet builds --format junit`: one suite per run, classname = run id.
pub fn write_builds(w: &mut dyn Write, b: &Builds) -> std::io::Result<()> {
    let suites: Vec<Suite<'_>> = b
        .runs
        .iter()
        .map(|r| Suite {
            name: r.id.clone(),
            classname: r.id.clone(),
            diagnosis: &r.diagnosis,
            start: Some(r.start),
            end: Some(r.end),
            properties: vec![
                ("sessions", r.sessions.to_string()),
                ("inputs", r.inputs.len().to_string()),
            ],
        })
        .collect();
    write(w, "aibnet builds", &suites, &b.skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_shows_what_xml_cannot_carry() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\te"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\\x01\te"
        );
        assert_eq!(attr("one\ntwo"), "one two");
        assert_eq!(timestamp(1_724_090_406_894_438_400), "2024-08-19T18:00:06");
        assert_eq!(seconds(1_500_000_000), "1.500");
    }
}
