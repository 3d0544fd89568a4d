//! Agreement with Zeek on traces of Zeek's own test suite that nobody here
//! recorded (`tests/data/zeek/` and the second set `tests/data/zeek-new/`,
//! issue 20): conn_state, history (gap letters included), orientation and
//! missed_bytes of every TCP and UDP connection against the `conn.log`
//! baselines Zeek's tests expect.
//!
//! This is `tests/data/zeek/compare.py`'s comparison, rule for rule (its
//! header writes the matching rules down; `ZEEK_RULES.md` lists the classes
//! of difference and Zeek's source for each). The test prints the agreement
//! and fails when it falls below the pinned level: a fix raises the pin, a
//! regression cannot pass unnoticed.

use aibnet::analyze::analyze_paths;
use aibnet::sessions::{Proto, Session};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::common::data;

/// Pinned agreement (agreeing rows, compared rows) over the 33 traces,
/// TCP and UDP. Raise these as classes of `ZEEK_RULES.md` are fixed.
/// (Issue 20 began at 65/75, 60/79, 64/79, 68/74.)
const PIN_STATE: (usize, usize) = (75, 75);
const PIN_HIST: (usize, usize) = (79, 79);
const PIN_HIST_NO_GAP: (usize, usize) = (79, 79);
const PIN_ORIENT: (usize, usize) = (80, 80);
/// Rows with a `missed_bytes` column whose value aibnet's `missed_bytes`
/// equals.
const PIN_MISSED: (usize, usize) = (76, 76);

/// Pinned agreement over the second set, `tests/data/zeek-new/`.
/// (The session's starting binary agreed on all of them too.)
const PIN_NEW_STATE: (usize, usize) = (41, 41);
const PIN_NEW_HIST: (usize, usize) = (46, 46);
const PIN_NEW_HIST_NO_GAP: (usize, usize) = (46, 46);
const PIN_NEW_ORIENT: (usize, usize) = (46, 46);
const PIN_NEW_MISSED: (usize, usize) = (42, 42);

/// One baseline row: Zeek field name to value (`None` for the unset `-`).
type Row = HashMap<String, Option<String>>;

struct Baseline {
    fields: Vec<String>,
    rows: Vec<Row>,
}

/// A Zeek ASCII log, or a `zeek-cut -m` extract (first line names the fields).
fn read_baseline(path: &Path) -> Baseline {
    let text = std::fs::read_to_string(path).unwrap();
    let mut fields: Option<Vec<String>> = None;
    let mut unset = "-".to_string();
    let mut rows = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            if let Some(f) = rest.strip_prefix("fields\t") {
                fields = Some(f.split('\t').map(str::to_string).collect());
            } else if let Some(u) = rest.strip_prefix("unset_field\t") {
                unset = u.to_string();
            }
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(f) = &fields else {
            fields = Some(cols.iter().map(|c| c.to_string()).collect());
            continue;
        };
        if cols.len() != f.len() {
            continue;
        }
        rows.push(
            f.iter()
                .zip(&cols)
                .map(|(k, v)| (k.clone(), (*v != unset).then(|| v.to_string())))
                .collect(),
        );
    }
    Baseline {
        fields: fields.unwrap_or_default(),
        rows,
    }
}

fn get<'a>(r: &'a Row, k: &str) -> Option<&'a str> {
    r.get(k).and_then(|v| v.as_deref())
}

fn canon_proto(p: &str) -> &str {
    if p == "icmpv6" { "icmp" } else { p }
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hist_of(s: &Session) -> String {
    let h = s.history.as_str();
    if h == "-" {
        String::new()
    } else {
        h.to_string()
    }
}

fn pkts_of_row(r: &Row) -> Option<u64> {
    Some(get(r, "orig_pkts")?.parse::<u64>().ok()? + get(r, "resp_pkts")?.parse::<u64>().ok()?)
}

fn pkts_of(s: &Session) -> u64 {
    s.orig.pkts + s.resp.pkts
}

/// Rule 3's anchor test: a row and a session that tell the same story.
fn same_outcome(r: &Row, s: &Session) -> bool {
    if let Some(st) = get(r, "conn_state")
        && st != s.state.as_str()
    {
        return false;
    }
    if r.contains_key("history") && get(r, "history").unwrap_or("") != hist_of(s) {
        return false;
    }
    pkts_of_row(r).is_none_or(|n| n == pkts_of(s))
}

/// Longest common subsequence under `same_outcome`: the anchors.
fn lcs_anchors(rows: &[&Row], ss: &[&Session]) -> Vec<(usize, usize)> {
    let (n, m) = (rows.len(), ss.len());
    let mut t = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if same_outcome(rows[i], ss[j]) {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut out, mut i, mut j) = (Vec::new(), 0, 0);
    while i < n && j < m {
        if same_outcome(rows[i], ss[j]) && t[i][j] == t[i + 1][j + 1] + 1 {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if t[i + 1][j] >= t[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Pairs of one key: (rows, session), more than one row for a merge.
type Pairs<'a> = Vec<(Vec<&'a Row>, &'a Session)>;

/// Rule 4 and the in-order pairing between two anchors. Returns the pairs,
/// the rows left and the sessions left.
fn pair_segment<'a>(rows: &[&'a Row], ss: &[&'a Session]) -> (Pairs<'a>, usize, usize) {
    let mut pairs = Vec::new();
    let mut i = 0;
    for (j, s) in ss.iter().enumerate() {
        if i >= rows.len() {
            return (pairs, 0, ss.len() - j);
        }
        let sess_left = ss.len() - j;
        if rows.len() - i > sess_left {
            let want = pkts_of(s);
            let (mut total, mut k) = (0, i);
            while k < rows.len() && total < want && rows.len() - k > sess_left - 1 {
                let Some(n) = pkts_of_row(rows[k]) else { break };
                total += n;
                k += 1;
            }
            if total == want && k - i > 1 {
                pairs.push((rows[i..k].to_vec(), *s));
                i = k;
                continue;
            }
        }
        pairs.push((vec![rows[i]], *s));
        i += 1;
    }
    (pairs, rows.len() - i, 0)
}

fn is_attempt(r: &Row) -> bool {
    if let Some(st) = get(r, "conn_state") {
        return st == "S0";
    }
    let h = get(r, "history").unwrap_or("");
    h.starts_with('S') && !h.contains(['h', 'H'])
}

/// Counts of one trace or of all (rule 6).
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    pairs: usize,
    orient: usize,
    state: usize,
    state_n: usize,
    hist: usize,
    hist_nogap: usize,
    hist_n: usize,
    missed: usize,
    missed_n: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.pairs += o.pairs;
        self.orient += o.orient;
        self.state += o.state;
        self.state_n += o.state_n;
        self.hist += o.hist;
        self.hist_nogap += o.hist_nogap;
        self.hist_n += o.hist_n;
        self.missed += o.missed;
        self.missed_n += o.missed_n;
    }
}

fn strip_gaps(h: &str) -> String {
    h.chars().filter(|c| !matches!(c, 'g' | 'G')).collect()
}

/// Key of rule 2: protocol and the unordered pair of endpoints (or, for an
/// extract without `id.orig_p`, both addresses and the responder's port).
type Key = (String, IpAddr, u16, IpAddr, u16);

fn endpoint_key(proto: &str, oh: IpAddr, op: u16, rh: IpAddr, rp: u16) -> Key {
    let (a, b) = if (oh, op) <= (rh, rp) {
        ((oh, op), (rh, rp))
    } else {
        ((rh, rp), (oh, op))
    };
    (canon_proto(proto).to_string(), a.0, a.1, b.0, b.1)
}

/// Compares one trace; returns its tally and prints its disagreements.
fn compare_case(
    name: &str,
    trace: &Path,
    baseline: &Path,
    uid_rank: &HashMap<String, usize>,
) -> Tally {
    let b = read_baseline(baseline);
    let analysis = analyze_paths(&[trace.to_path_buf()], &Default::default());
    assert!(
        analysis.skipped.is_empty(),
        "{name}: {:?}",
        analysis.skipped
    );
    let sessions = analysis.sessions;
    let has = |f: &str| b.fields.iter().any(|x| x == f);
    for f in ["id.orig_h", "id.resp_h", "id.resp_p"] {
        assert!(has(f), "{name}: baseline lacks {f}");
    }
    let (has_proto, has_orig_p) = (has("proto"), has("id.orig_p"));
    let protos = ["tcp", "udp"];
    let row_key = |r: &Row| -> Key {
        let proto = if has_proto {
            get(r, "proto").unwrap()
        } else {
            "*"
        };
        let (oh, rh) = (
            addr(get(r, "id.orig_h").unwrap()),
            addr(get(r, "id.resp_h").unwrap()),
        );
        let rp: u16 = get(r, "id.resp_p").unwrap().parse().unwrap();
        if has_orig_p {
            endpoint_key(
                proto,
                oh,
                get(r, "id.orig_p").unwrap().parse().unwrap(),
                rh,
                rp,
            )
        } else {
            (canon_proto(proto).to_string(), oh, 0, rh, rp)
        }
    };
    let session_keys = |s: &Session| -> Vec<Key> {
        let proto = if has_proto { s.proto.as_str() } else { "*" };
        if has_orig_p {
            vec![endpoint_key(proto, s.orig_h, s.orig_p, s.resp_h, s.resp_p)]
        } else {
            let p = canon_proto(proto).to_string();
            vec![
                (p.clone(), s.orig_h, 0, s.resp_h, s.resp_p),
                (p, s.resp_h, 0, s.orig_h, s.orig_p),
            ]
        }
    };
    let mut groups_z: BTreeMap<Key, Vec<(usize, &Row)>> = BTreeMap::new();
    for (n, r) in b.rows.iter().enumerate() {
        if has_proto && !matches!(get(r, "proto"), Some("tcp" | "udp" | "icmp")) {
            continue;
        }
        if get(r, "tunnel_parents").is_some_and(|t| t != "(empty)") {
            // Rule 1: an inner connection Zeek decapsulated; aibnet does not.
            continue;
        }
        groups_z.entry(row_key(r)).or_default().push((n, r));
    }
    let mut groups_a: BTreeMap<Key, Vec<&Session>> = BTreeMap::new();
    for s in &sessions {
        if !matches!(
            s.proto,
            Proto::Tcp | Proto::Udp | Proto::Icmp | Proto::Icmpv6
        ) {
            continue;
        }
        let keys = session_keys(s);
        let k = keys
            .iter()
            .find(|k| groups_z.contains_key(*k))
            .unwrap_or(&keys[0])
            .clone();
        groups_a.entry(k).or_default().push(s);
    }
    let mut keys: Vec<&Key> = groups_z.keys().chain(groups_a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut t = Tally::default();
    let mut wrong = 0;
    let counted = |p: &str| protos.contains(&canon_proto(p));
    for k in keys {
        let mut zr = groups_z.get(k).cloned().unwrap_or_default();
        zr.sort_by_key(|(n, r)| {
            (
                get(r, "uid")
                    .and_then(|u| uid_rank.get(u))
                    .copied()
                    .unwrap_or(1 << 30),
                *n,
            )
        });
        let zr: Vec<&Row> = zr.into_iter().map(|(_, r)| r).collect();
        let mut ss = groups_a.get(k).cloned().unwrap_or_default();
        ss.sort_by_key(|s| s.first_ts);
        let (mut pi, mut pj) = (0, 0);
        let mut anchors = lcs_anchors(&zr, &ss);
        anchors.push((zr.len(), ss.len()));
        let mut pairs: Pairs = Vec::new();
        for (ai, aj) in anchors {
            let (p, xr, xs) = pair_segment(&zr[pi..ai], &ss[pj..aj]);
            pairs.extend(p);
            // Unmatched rows and sessions: each one disagreeing row.
            if counted(&k.0) || k.0 == "*" {
                wrong += xr;
                if xr > 0 {
                    println!("    {name}: {k:?}: {xr} Zeek rows unmatched");
                }
            }
            if counted(&k.0) {
                wrong += xs;
                if xs > 0 {
                    println!("    {name}: {k:?}: {xs} aibnet sessions unmatched");
                }
            }
            if ai < zr.len() {
                pairs.push((vec![zr[ai]], ss[aj]));
            }
            pi = ai + 1;
            pj = aj + 1;
        }
        for (rows, s) in pairs {
            if !counted(s.proto.as_str()) {
                continue;
            }
            let r = rows[0];
            if rows.len() > 1 {
                // Rule 4: Zeek's split of an unanswered attempt is the
                // README's deliberate difference, neither counted nor wrong.
                if !(s.proto == Proto::Tcp && is_attempt(r)) {
                    wrong += rows.len();
                    println!(
                        "    {name}: {k:?}: Zeek {} rows, aibnet one session",
                        rows.len()
                    );
                }
                continue;
            }
            t.pairs += 1;
            let orient = addr(get(r, "id.orig_h").unwrap()) == s.orig_h
                && if has_orig_p {
                    get(r, "id.orig_p").unwrap().parse::<u16>().unwrap() == s.orig_p
                } else {
                    get(r, "id.resp_p").unwrap().parse::<u16>().unwrap() == s.resp_p
                };
            t.orient += usize::from(orient);
            let (zs, as_) = (get(r, "conn_state"), s.state.as_str());
            let (zh, ah) = (get(r, "history").unwrap_or(""), hist_of(s));
            let state_ok = !has("conn_state") || zs == Some(as_);
            let hist_ok = !has("history") || zh == ah;
            if has("conn_state") {
                t.state += usize::from(state_ok);
            }
            if has("history") {
                t.hist += usize::from(hist_ok);
                t.hist_nogap += usize::from(strip_gaps(zh) == strip_gaps(&ah));
            }
            // missed_bytes: Zeek's content gaps, both directions.
            if let Some(zm) = get(r, "missed_bytes").and_then(|m| m.parse::<u64>().ok()) {
                t.missed_n += 1;
                t.missed += usize::from(zm == s.missed_bytes());
                if zm != s.missed_bytes() {
                    println!(
                        "    {name}: {} {}:{} > {}:{}  zeek missed_bytes {zm}  aibnet {}",
                        s.proto.as_str(),
                        s.orig_h,
                        s.orig_p,
                        s.resp_h,
                        s.resp_p,
                        s.missed_bytes()
                    );
                }
            }
            if !(orient && state_ok && hist_ok) {
                println!(
                    "    {name}: {} {}:{} > {}:{}  zeek {} {}  aibnet {} {} ({}:{} > {}:{})",
                    s.proto.as_str(),
                    get(r, "id.orig_h").unwrap(),
                    get(r, "id.orig_p").unwrap_or("?"),
                    get(r, "id.resp_h").unwrap(),
                    get(r, "id.resp_p").unwrap(),
                    zs.unwrap_or("?"),
                    zh,
                    as_,
                    if ah.is_empty() { "-" } else { &ah },
                    s.orig_h,
                    s.orig_p,
                    s.resp_h,
                    s.resp_p,
                );
            }
        }
    }
    let total = t.pairs + wrong;
    t.state_n = if has("conn_state") { total } else { 0 };
    t.hist_n = if has("history") { total } else { 0 };
    t
}

const CAPTURE_SUFFIXES: [&str; 6] = [
    ".pcap",
    ".pcapng",
    ".pcap.gz",
    ".pcapng.gz",
    ".cap",
    ".trace",
];

fn pct((a, b): (usize, usize)) -> String {
    format!("{a}/{b} ({:.1} %)", 100.0 * a as f64 / b.max(1) as f64)
}

/// Whether `got` is at least as good as the pin, as a fraction.
fn at_least(got: (usize, usize), pin: (usize, usize)) -> bool {
    got.0 * pin.1 >= pin.0 * got.1
}

/// The pins of one set of traces: conn_state, history, history without
/// `g`/`G`, orientation (agreeing rows, compared rows).
struct Pins {
    state: (usize, usize),
    hist: (usize, usize),
    hist_no_gap: (usize, usize),
    orient: (usize, usize),
    missed: (usize, usize),
}

#[test]
fn agreement_with_zeek_on_its_test_suite_traces() {
    run_suite(
        "zeek",
        33,
        &Pins {
            state: PIN_STATE,
            hist: PIN_HIST,
            hist_no_gap: PIN_HIST_NO_GAP,
            orient: PIN_ORIENT,
            missed: PIN_MISSED,
        },
    );
}

/// The second set (`tests/data/zeek-new/`, chosen after the fixes of the
/// first set were made, so it measures them on traces they were not tuned
/// on).
#[test]
fn agreement_with_zeek_on_a_second_set_of_its_traces() {
    run_suite(
        "zeek-new",
        30,
        &Pins {
            state: PIN_NEW_STATE,
            hist: PIN_NEW_HIST,
            hist_no_gap: PIN_NEW_HIST_NO_GAP,
            orient: PIN_NEW_ORIENT,
            missed: PIN_NEW_MISSED,
        },
    );
}

/// Compares every case folder of `tests/data/<set>` (a capture and its
/// `conn.log`) and fails below the pins.
fn run_suite(set: &str, n_cases: usize, pins: &Pins) {
    let dir = data(set);
    let uid_rank: HashMap<String, usize> = {
        let text = std::fs::read_to_string(data("zeek").join("uid-order.txt")).unwrap();
        let mut rank = HashMap::new();
        for l in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let n = rank.len();
            rank.entry(l.to_string()).or_insert(n);
        }
        rank
    };
    let mut cases: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let d = e.unwrap().path();
        if !d.is_dir() || !d.join("conn.log").exists() {
            continue;
        }
        let mut traces: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                CAPTURE_SUFFIXES.iter().any(|s| n.ends_with(s))
            })
            .collect();
        assert_eq!(traces.len(), 1, "{}: one capture per case", d.display());
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        cases.push((name, traces.remove(0), d.join("conn.log")));
    }
    cases.sort();
    assert_eq!(
        cases.len(),
        n_cases,
        "the traces of tests/data/{set}/SOURCES.md"
    );
    println!("Disagreements (TCP and UDP):");
    let mut all = Tally::default();
    for (name, trace, baseline) in &cases {
        all.add(&compare_case(name, trace, baseline, &uid_rank));
    }
    let state = (all.state, all.state_n);
    let hist = (all.hist, all.hist_n);
    let nogap = (all.hist_nogap, all.hist_n);
    let orient = (all.orient, all.pairs);
    let missed = (all.missed, all.missed_n);
    println!(
        "Agreement with Zeek over the {} traces of {set}, TCP and UDP:",
        cases.len()
    );
    println!("  orientation (1:1 pairs) {}", pct(orient));
    println!("  conn_state              {}", pct(state));
    println!("  history, exact          {}", pct(hist));
    println!("  history without g/G     {}", pct(nogap));
    println!("  missed_bytes (1:1 pairs) {}", pct(missed));
    for (what, got, pin) in [
        ("conn_state", state, pins.state),
        ("history", hist, pins.hist),
        ("history without g/G", nogap, pins.hist_no_gap),
        ("orientation", orient, pins.orient),
        ("missed_bytes", missed, pins.missed),
    ] {
        assert!(
            at_least(got, pin),
            "{what} agreement fell to {} below the pinned {}",
            pct(got),
            pct(pin)
        );
    }
}
