//! Live capture on the loopback interface (feature `live`, needs root or
//! CAP_NET_RAW). CI runs it as root; elsewhere it says why it did nothing.
#![cfg(feature = "live")]

mod common;

use common::{aibnet, finish};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[test]
fn captures_real_loopback_traffic_and_reads_it_back() {
    if !is_root() {
        eprintln!("skipping live capture: not root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lo.pcap");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..3 {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(b"world").unwrap();
        }
    });
    let mut cap = aibnet()
        .args([
            "capture",
            "-i",
            "lo",
            "--duration",
            "4s",
            "--ports",
            &port.to_string(),
            "-w",
        ])
        .arg(&out)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..3 {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"world");
    }
    server.join().unwrap();
    assert!(cap.wait().unwrap().success());

    let o = finish(aibnet().args(["sessions", "--format", "json"]).arg(&out));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = o.json();
    let sessions = v["sessions"].as_array().unwrap();
    let ours: Vec<_> = sessions.iter().filter(|s| s["resp_p"] == port).collect();
    assert_eq!(ours.len(), 3, "{sessions:#?}");
    for s in ours {
        assert_eq!(s["orig_bytes"], 5);
        assert_eq!(s["resp_bytes"], 5);
        assert!(s["history"].as_str().unwrap().starts_with("ShAD"), "{s}");
    }
}

#[test]
fn unknown_interface_is_a_clear_error() {
    let o = finish(aibnet().args([
        "capture",
        "-i",
        "no-such-if0",
        "--duration",
        "1s",
        "-w",
        "/tmp/aibnet-never.pcap",
    ]));
    assert_eq!(o.code, 2);
    let err = o.stderr;
    assert!(err.contains("no interface named \"no-such-if0\""), "{err}");
}
