//! Live capture through libpcap (cargo feature `live`): record the AIB ports
//! on an interface into a pcap file that the rest of the pipeline reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The ports an AIB build uses: proxy command ports, SSH, WinRM over HTTPS,
/// DNS, HTTPS and HTTP (mirrors, storage), KMS.
pub const AIB_PORTS: [u16; 8] = [60000, 60001, 22, 5986, 53, 443, 80, 1688];

/// The default capture filter: the AIB ports, plus ICMP for unreachables.
pub fn default_filter(ports: &[u16]) -> String {
    let mut f = ports
        .iter()
        .map(|p| format!("port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    f.push_str(" or icmp or icmp6");
    f
}

/// What to capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Interface name (`eth0`, `lo`, `any`).
    pub interface: String,
    /// BPF filter.
    pub filter: String,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Where to write the pcap file.
    pub output: PathBuf,
    /// Bytes kept of each packet (headers are enough for aibnet).
    pub snaplen: i32,
}

/// What was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSummary {
    /// Packets written.
    pub packets: u64,
    /// Packets the kernel dropped (buffer full).
    pub dropped: u32,
}

/// Why a live capture failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The interface does not exist.
    #[error("no interface named {name:?} (available: {available})")]
    NoSuchInterface {
        /// The name asked for.
        name: String,
        /// The names libpcap lists.
        available: String,
    },
    /// Not allowed to capture.
    #[error(
        "not permitted to capture on {name:?}: run as root or give the binary CAP_NET_RAW (sudo setcap cap_net_raw,cap_net_admin=eip $(which aibnet)): {detail}"
    )]
    NotPermitted {
        /// The interface.
        name: String,
        /// libpcap's message.
        detail: String,
    },
    /// The filter does not compile.
    #[error("capture filter {filter:?} does not compile: {detail}")]
    BadFilter {
        /// The filter.
        filter: String,
        /// libpcap's message.
        detail: String,
    },
    /// Any other libpcap or file error.
    #[error("{0}")]
    Other(String),
}

fn classify(name: &str, e: pcap::Error) -> LiveError {
    let detail = e.to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::NotPermitted {
            name: name.to_string(),
            detail,
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        LiveError::NoSuchInterface {
            name: name.to_string(),
            available: list_interfaces().join(", "),
        }
    } else {
        LiveError::Other(detail)
    }
}

/// Interface names libpcap can capture on.
pub fn list_interfaces() -> Vec<String> {
    pcap::Device::list()
        .map(|v| v.into_iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

/// Capture until the duration or count is reached, calling `progress` with
/// the packet count now and then.
pub fn capture(
    opts: &LiveOptions,
    mut progress: impl FnMut(u64, Duration),
) -> Result<LiveSummary, LiveError> {
    let name = opts.interface.as_str();
    let devices = list_interfaces();
    if !devices.iter().any(|d| d == name) {
        return Err(LiveError::NoSuchInterface {
            name: name.to_string(),
            available: devices.join(", "),
        });
    }
    let mut cap = pcap::Capture::from_device(name)
        .map_err(|e| classify(name, e))?
        .snaplen(opts.snaplen)
        .promisc(false)
        .immediate_mode(true)
        .timeout(200)
        .open()
        .map_err(|e| classify(name, e))?
        // Non-blocking: on Linux a blocking read may wait forever when no
        // packet arrives, and the duration must end the capture.
        .setnonblock()
        .map_err(|e| classify(name, e))?;
    cap.filter(&opts.filter, true)
        .map_err(|e| LiveError::BadFilter {
            filter: opts.filter.clone(),
            detail: e.to_string(),
        })?;
    let mut out = cap
        .savefile(&opts.output)
        .map_err(|e| LiveError::Other(format!("{}: {e}", opts.output.display())))?;
    let start = Instant::now();
    let mut packets = 0u64;
    let mut last_report = Instant::now();
    loop {
        if opts.duration.is_some_and(|d| d <= start.elapsed())
            || opts.count.is_some_and(|c| packets >= c)
        {
            break;
        }
        match cap.next_packet() {
            Ok(p) => {
                out.write(&p);
                packets += 1;
            }
            Err(pcap::Error::TimeoutExpired) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(classify(name, e)),
        }
        if Duration::from_millis(500) <= last_report.elapsed() {
            progress(packets, start.elapsed());
            last_report = Instant::now();
        }
    }
    out.flush().map_err(|e| LiveError::Other(e.to_string()))?;
    let dropped = cap.stats().map(|s| s.dropped).unwrap_or(0);
    progress(packets, start.elapsed());
    Ok(LiveSummary { packets, dropped })
}

/// A fresh temporary file name for `diagnose --live`.
pub fn temp_capture_path(dir: &Path) -> PathBuf {
    dir.join(format!("aibnet-live-{}.pcap", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_names_every_port() {
        let f = default_filter(&AIB_PORTS);
        for p in AIB_PORTS {
            assert!(f.contains(&format!("port {p}")));
        }
    }
}
