//! A session as one line of NDJSON, written by hand: byte for byte what
//! serde_json writes for [`SessionJson`] (a test compares the two on every
//! session of the lab captures and reference traces), without serde_json's
//! escaping scan of each of the twenty keys and values, which was a third of
//! the time of `sessions --format ndjson` on many small sessions. Keys,
//! protocols, states, histories, addresses and timestamps never need
//! escaping; input paths are escaped once per run. Sessions with an ICMP
//! error or flow-log details (free text, rarer) go through serde_json.

use super::sessions::SessionJson;
use super::time::Timestamp;
use crate::analyze::InputReport;
use crate::sessions::Session;
use std::io::Write;
use std::net::IpAddr;

/// Writes sessions of one run as NDJSON lines.
pub struct LineWriter<'a> {
    inputs: &'a [InputReport],
    /// Each input's path as a JSON string.
    paths: Vec<Vec<u8>>,
}

impl<'a> LineWriter<'a> {
    /// A writer for sessions whose `seen_by` indexes `inputs`.
    pub fn new(inputs: &'a [InputReport]) -> std::io::Result<Self> {
        let paths = inputs
            .iter()
            .map(|r| serde_json::to_vec(&r.path))
            .collect::<Result<_, _>>()?;
        Ok(LineWriter { inputs, paths })
    }

    /// Append session `s` and a newline to `buf`.
    pub fn write(&self, buf: &mut Vec<u8>, s: &Session) -> std::io::Result<()> {
        if s.icmp_error.is_some() || s.flow.is_some() {
            serde_json::to_writer(&mut *buf, &SessionJson::of(s, self.inputs))?;
            buf.push(b'\n');
            return Ok(());
        }
        let mut n = itoa::Buffer::new();
        buf.extend_from_slice(b"{\"proto\":\"");
        buf.extend_from_slice(s.proto.as_str().as_bytes());
        buf.extend_from_slice(b"\",\"orig_h\":\"");
        addr(buf, s.orig_h)?;
        buf.extend_from_slice(b"\",\"orig_p\":");
        buf.extend_from_slice(n.format(s.orig_p).as_bytes());
        buf.extend_from_slice(b",\"resp_h\":\"");
        addr(buf, s.resp_h)?;
        buf.extend_from_slice(b"\",\"resp_p\":");
        buf.extend_from_slice(n.format(s.resp_p).as_bytes());
        buf.extend_from_slice(b",\"first_ts\":\"");
        buf.extend_from_slice(Timestamp::new(s.first_ts, s.ts_digits).as_str().as_bytes());
        buf.extend_from_slice(b"\",\"last_ts\":\"");
        buf.extend_from_slice(Timestamp::new(s.last_ts, s.ts_digits).as_str().as_bytes());
        buf.extend_from_slice(b"\",\"duration_s\":");
        // serde_json's own float formatting, so the digits are the same.
        serde_json::to_writer(&mut *buf, &super::sessions::round6(s.duration_s()))?;
        buf.extend_from_slice(b",\"state\":\"");
        buf.extend_from_slice(s.state.as_str().as_bytes());
        buf.extend_from_slice(b"\",\"history\":\"");
        buf.extend_from_slice(s.history.as_str().as_bytes());
        let counts = [
            (&b"\",\"orig_pkts\":"[..], s.orig.pkts),
            (b",\"orig_bytes\":", s.orig.bytes),
            (b",\"orig_ip_bytes\":", s.orig.ip_bytes),
            (b",\"resp_pkts\":", s.resp.pkts),
            (b",\"resp_bytes\":", s.resp.bytes),
            (b",\"resp_ip_bytes\":", s.resp.ip_bytes),
            (b",\"syn_retransmits\":", u64::from(s.syn_retransmits)),
        ];
        for (key, v) in counts {
            buf.extend_from_slice(key);
            buf.extend_from_slice(n.format(v).as_bytes());
        }
        buf.extend_from_slice(b",\"icmp_error\":null,\"seen_by\":[");
        let mut first = true;
        for p in s.seen_by.iter().filter_map(|i| self.paths.get(i as usize)) {
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.extend_from_slice(p);
        }
        buf.extend_from_slice(b"]}\n");
        Ok(())
    }
}

/// An address as std (and serde) print it.
fn addr(buf: &mut Vec<u8>, a: IpAddr) -> std::io::Result<()> {
    match a {
        IpAddr::V4(v4) => {
            let mut n = itoa::Buffer::new();
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.extend_from_slice(n.format(o).as_bytes());
            }
            Ok(())
        }
        IpAddr::V6(v6) => write!(buf, "{v6}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze_paths;
    use std::path::PathBuf;

    /// What serde_json writes for the session: the contract's reference.
    fn serde_line(s: &Session, inputs: &[InputReport]) -> Vec<u8> {
        let mut v = serde_json::to_vec(&SessionJson::of(s, inputs)).unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn check(sessions: &[Session], inputs: &[InputReport]) -> usize {
        let lines = LineWriter::new(inputs).unwrap_or_else(|e| panic!("{e}"));
        let mut buf = Vec::new();
        for s in sessions {
            buf.clear();
            lines.write(&mut buf, s).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                String::from_utf8_lossy(&buf),
                String::from_utf8_lossy(&serde_line(s, inputs))
            );
        }
        sessions.len()
    }

    /// Every session of the lab captures, the adversarial corpus and the
    /// reference traces (IPv4 and IPv6, every state, flow-log details, extreme
    /// timestamps and precisions) comes out as serde_json writes it.
    #[test]
    fn lines_match_serde_json_on_real_captures() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![root.join("captures")];
        let traces = root.join("../shared/reference/traces");
        if traces.is_dir() {
            paths.push(traces);
        }
        let a = analyze_paths(&paths);
        let n = check(&a.sessions, &a.inputs);
        assert!(n > 1000, "only {n} sessions");
        assert!(a.sessions.iter().any(|s| s.orig_h.is_ipv6()));
        assert!(a.sessions.iter().any(|s| s.flow.is_some()));
    }

    /// Paths that need escaping, and sessions seen by several inputs.
    #[test]
    fn escaped_paths_and_several_inputs() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("captures/healthy-linux");
        let a = analyze_paths(&[dir.join("buildvm.pcap"), dir.join("proxy.pcap")]);
        let mut inputs = a.inputs.clone();
        for (i, r) in inputs.iter_mut().enumerate() {
            r.path = format!("dir \"{i}\"\\caf\u{e9}\t\u{1}.pcap");
        }
        let mut sessions = a.sessions.clone();
        for s in &mut sessions {
            for i in 0..inputs.len() as u32 {
                s.seen_by.insert(i);
            }
        }
        assert!(
            sessions
                .iter()
                .any(|s| s.flow.is_none() && s.icmp_error.is_none())
        );
        assert!(check(&sessions, &inputs) > 0);
    }
}
