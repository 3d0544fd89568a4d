//! Format detection by content (magic numbers and JSON shape).

use serde::Serialize;

/// What an input holds, decided by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Classic libpcap file (any of the four magics).
    Pcap,
    /// pcapng file.
    Pcapng,
    /// Azure NSG or VNet flow log (JSON with flow tuples).
    FlowLog,
    /// Some other JSON document (templates, NSGs, subnets ... for `check`).
    Json,
    /// None of the above.
    Unknown,
}

impl Format {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
            Format::FlowLog => "flowlog",
            Format::Json => "json",
            Format::Unknown => "unknown",
        }
    }
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // microseconds, little endian
    [0xa1, 0xb2, 0xc3, 0xd4], // microseconds, big endian
    [0x4d, 0x3c, 0xb2, 0xa1], // nanoseconds, little endian
    [0xa1, 0xb2, 0x3c, 0x4d], // nanoseconds, big endian
];
/// Kuznetzov's "modified" pcap (extra per-record fields), seen in old captures.
const PCAP_MODIFIED_MAGICS: [[u8; 4]; 2] = [[0x34, 0xcd, 0xb2, 0xa1], [0xa1, 0xb2, 0xcd, 0x34]];
const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// How far into a JSON document to look for flow-log markers. Flow-log blobs
/// name their category or tuples within the first record.
const JSON_SNIFF_LEN: usize = 64 * 1024;

/// Detect the format of already-decompressed bytes.
pub fn detect(bytes: &[u8]) -> Format {
    let Some(head) = bytes.first_chunk::<4>() else {
        return Format::Unknown;
    };
    if PCAP_MAGICS.contains(head) || PCAP_MODIFIED_MAGICS.contains(head) {
        return Format::Pcap;
    }
    if *head == PCAPNG_SHB {
        return Format::Pcapng;
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => {
            let sniff = body.get(..JSON_SNIFF_LEN).unwrap_or(body);
            if contains(sniff, b"flowTuples")
                || contains(sniff, b"NetworkSecurityGroupFlowEvent")
                || contains(sniff, b"FlowLogFlowEvent")
            {
                Format::FlowLog
            } else {
                Format::Json
            }
        }
        _ => Format::Unknown,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether the bytes start a gzip stream.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), Format::Pcap);
        assert_eq!(detect(&[0xa1, 0xb2, 0x3c, 0x4d]), Format::Pcap);
        assert_eq!(detect(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]), Format::Pcapng);
        assert_eq!(
            detect(b"\xef\xbb\xbf {\"records\":[{\"category\":\"FlowLogFlowEvent\""),
            Format::FlowLog
        );
        assert_eq!(detect(b"  {\"name\": \"nsg1\"}"), Format::Json);
        assert_eq!(detect(b"hello world"), Format::Unknown);
        assert_eq!(detect(b"ab"), Format::Unknown);
    }
}
