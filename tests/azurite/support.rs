//! Azurite, the Azure Storage emulator, for the storage tests: started on a
//! free loopback port with a temporary workspace and a debug log, stopped
//! (killed) when dropped; containers made and blobs uploaded with the
//! emulator's account key, and account SAS tokens signed with it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use object_store::ObjectStoreExt;
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::path::Path as BlobPath;
use sha2::Sha256;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The emulator's account and its published key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service.
pub struct Azurite {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its workspace and debug log.
    pub dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

impl Azurite {
    /// Start Azurite, or `None` (with a notice) when `azurite-blob` is not
    /// installed. With `AIBNET_AZURITE=1` (CI) a missing Azurite fails.
    pub fn start() -> Option<Azurite> {
        if !on_path("azurite-blob") {
            assert!(
                std::env::var("AIBNET_AZURITE").as_deref() != Ok("1"),
                "AIBNET_AZURITE=1 but azurite-blob is not on PATH (npm install -g azurite)"
            );
            eprintln!(
                "NOTICE: azurite-blob not found: storage tests skipped (npm install -g azurite to run them)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new("azurite-blob")
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .arg("--debug")
            .arg(dir.path().join("debug.log"))
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--loose",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-blob");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let a = Azurite {
            child,
            port,
            dir,
            rt,
        };
        // Up to 300 tries 100 ms apart for its port to open.
        let up = (0..300).any(|_| {
            let open = TcpStream::connect(("127.0.0.1", port)).is_ok();
            if !open {
                std::thread::sleep(Duration::from_millis(100));
            }
            open
        });
        assert!(up, "azurite-blob did not open its port");
        Some(a)
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// The URL of a container (and prefix), path style.
    pub fn url(&self, container_and_prefix: &str) -> String {
        format!("{}/{container_and_prefix}", self.endpoint())
    }

    /// Azurite's debug log so far.
    pub fn debug_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("debug.log")).unwrap_or_default()
    }

    /// Create a container (Create Container, signed with the account key).
    pub fn create_container(&self, name: &str) {
        let date = httpdate();
        let version = "2021-08-06";
        let resource = format!("/{ACCOUNT}/{ACCOUNT}/{name}\nrestype:container");
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n{resource}"
        );
        let sig = B64.encode(hmac(&to_sign));
        let req = format!(
            "PUT /{ACCOUNT}/{name}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {ACCOUNT}:{sig}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.write_all(req.as_bytes()).expect("send");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(
            resp.starts_with("HTTP/1.1 201"),
            "create container {name}: {}",
            resp.lines().next().unwrap_or_default()
        );
    }

    pub fn store(&self, container: &str) -> MicrosoftAzure {
        MicrosoftAzureBuilder::new()
            .with_account(ACCOUNT)
            .with_access_key(KEY)
            .with_container_name(container)
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .build()
            .expect("client")
    }

    /// Upload bytes as a blob.
    pub fn put(&self, container: &str, name: &str, bytes: Vec<u8>) {
        let store = self.store(container);
        self.rt
            .block_on(store.put(&BlobPath::from(name), bytes.into()))
            .unwrap_or_else(|e| panic!("upload {name}: {e}"));
    }

    /// Upload every file under `dir` as `prefix` + its path relative to `dir`
    /// (`/`-separated), mapped by `rename`. Returns how many.
    pub fn put_tree(&self, container: &str, dir: &Path, rename: impl Fn(&str) -> String) -> usize {
        let mut n = 0;
        for f in crate::common::files(dir) {
            let rel = f
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            self.put(container, &rename(&rel), std::fs::read(&f).expect("read"));
            n += 1;
        }
        n
    }

    /// An account SAS for blobs (`ss=b`, `srt=sco`) with these permissions
    /// (`rl`: read and list), valid for a day.
    pub fn sas(&self, permissions: &str) -> String {
        let version = "2019-12-12";
        let expiry = "2099-01-01T00:00:00Z";
        let to_sign =
            format!("{ACCOUNT}\n{permissions}\nb\nsco\n\n{expiry}\n\nhttps,http\n{version}\n");
        let sig = B64.encode(hmac(&to_sign));
        let sig: String = sig
            .chars()
            .map(|c| match c {
                '+' => "%2B".to_string(),
                '/' => "%2F".to_string(),
                '=' => "%3D".to_string(),
                c => c.to_string(),
            })
            .collect();
        format!("sv={version}&ss=b&srt=sco&sp={permissions}&se={expiry}&spr=https,http&sig={sig}")
    }
}

fn hmac(text: &str) -> Vec<u8> {
    let key = B64.decode(KEY).expect("key");
    let mut m = Hmac::<Sha256>::new_from_slice(&key).expect("hmac");
    m.update(text.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Now as an HTTP date (RFC 1123).
fn httpdate() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = aibnet::time::civil_from_days(days);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What the fault proxy does to the requests for one blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer the first N downloads 503 Server Busy, then forward.
    Busy(usize),
    /// Before forwarding the first download, replace the blob (through
    /// Azurite directly) by the proxy's `new` bytes, as the minutes
    /// appended to the current hour's blob do: it changes between its
    /// listing and its download.
    ChangeFirst,
    /// Forward the first download's headers and a part of its body, then
    /// hold the connection open without sending more.
    Stall,
    /// Answer the first N downloads 500 Internal Server Error, then forward.
    ServerError(usize),
    /// Hold the first N downloads' connections open without answering (the
    /// client times out), then forward.
    Hang(usize),
    /// Before forwarding the first download, delete the blob (through
    /// Azurite directly): it is gone between its listing and its download.
    Gone,
    /// Hold every download this many milliseconds before forwarding it (to
    /// see how many are in flight at once).
    Delay(u64),
    /// Forward the first download's headers and a part of its body, close
    /// the connection, and replace the blob by the proxy's `new` bytes: it
    /// changes while it is read.
    CutAndChange,
    /// Answer every request (listings too) 403, as Azure does to a valid
    /// Entra ID token without a data role on the account.
    Deny,
}

/// An Azure error answer (status line, error code, message).
fn error_answer(client: &mut TcpStream, status: &str, code: &str, message: &str) {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let _ = write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nx-ms-error-code: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
}

/// A fault-injecting HTTP proxy in front of Azurite (one request per
/// connection: it answers `Connection: close`).
pub struct FaultProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Request lines seen (`GET /devstoreaccount1/c/path?query`).
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Requests' heads (request line and headers) seen.
    pub heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The most downloads (of the faulted blobs) in flight at once.
    pub peak: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl FaultProxy {
    /// Proxy to `az`, with `fault` on the downloads whose path ends with
    /// `blob` (not listings). `new`: the blob's content for ChangeFirst.
    pub fn start(
        az: &Azurite,
        container: &str,
        blob: &str,
        fault: Fault,
        new: Vec<u8>,
    ) -> FaultProxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let peak = Arc::new(AtomicUsize::new(0));
        let inflight = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let target = az.port;
        let store = az.store(container);
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        let (heads2, peak2) = (Arc::clone(&heads), Arc::clone(&peak));
        let blob = blob.to_string();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut client) = conn else { continue };
                let Some((head, body)) = read_request(&mut client) else {
                    continue;
                };
                let line = head.lines().next().unwrap_or_default().to_string();
                seen2.lock().unwrap().push(line.clone());
                heads2.lock().unwrap().push(head.clone());
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .replace("%3D", "=")
                    .replace("%2F", "/");
                let is_download = line.starts_with("GET ")
                    && path.split('?').next().unwrap_or_default().ends_with(&blob)
                    && !path.contains("comp=");
                let n = if is_download {
                    hits.fetch_add(1, Ordering::SeqCst)
                } else {
                    usize::MAX
                };
                // Azure's error answers: (status line, error code, message).
                const DENIED: &str = "This request is not authorized to perform this operation using this permission.";
                let refusal = match fault {
                    Fault::Busy(k) if n < k => {
                        Some(("503 Server Busy", "ServerBusy", "The server is busy."))
                    }
                    Fault::ServerError(k) if n < k => Some((
                        "500 Internal Server Error",
                        "InternalError",
                        "The server encountered an internal error.",
                    )),
                    Fault::Deny => {
                        Some(("403 Forbidden", "AuthorizationPermissionMismatch", DENIED))
                    }
                    _ => None,
                };
                if let Some((status, code, message)) = refusal {
                    error_answer(&mut client, status, code, message);
                    continue;
                }
                match fault {
                    Fault::Hang(k) if n < k => {
                        std::thread::spawn(move || {
                            let _keep = client;
                            std::thread::sleep(Duration::from_secs(120));
                        });
                        continue;
                    }
                    Fault::Gone if n == 0 => {
                        let name = BlobPath::from(blob.as_str());
                        rt.block_on(store.delete(&name)).expect("delete the blob");
                    }
                    Fault::ChangeFirst if n == 0 => {
                        let name = BlobPath::from(blob.as_str());
                        rt.block_on(store.put(&name, new.clone().into()))
                            .expect("change the blob");
                    }
                    _ => {}
                }
                let stall = fault == Fault::Stall && n == 0;
                if fault == Fault::CutAndChange && n == 0 {
                    forward_cut(target, &mut client, &head, &body);
                    drop(client);
                    let name = BlobPath::from(blob.as_str());
                    rt.block_on(store.put(&name, new.clone().into()))
                        .expect("change the blob");
                    continue;
                }
                let (inflight, peak) = (Arc::clone(&inflight), Arc::clone(&peak2));
                std::thread::spawn(move || {
                    if is_download {
                        let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                    }
                    if let Fault::Delay(ms) = fault {
                        std::thread::sleep(Duration::from_millis(ms));
                    }
                    if stall {
                        forward_cut(target, &mut client, &head, &body);
                        std::thread::sleep(Duration::from_secs(600));
                        return;
                    }
                    let answer = answer_of(target, &head, &body);
                    // Out of flight before the client has its answer (and
                    // can send the next request).
                    if is_download {
                        inflight.fetch_sub(1, Ordering::SeqCst);
                    }
                    let _ = client.write_all(&answer);
                });
            }
        });
        FaultProxy {
            port,
            seen,
            heads,
            peak,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1/PATH`.
    pub fn url(&self, container_and_prefix: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{ACCOUNT}/{container_and_prefix}",
            self.port
        )
    }

    /// How many request lines contain `what` (`/` and `=` unescaped).
    pub fn count(&self, what: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.replace("%3D", "=").replace("%2F", "/").contains(what))
            .count()
    }
}

/// A request's head (up to the blank line) and its body (Content-Length).
fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Send the request to Azurite and copy back its headers and the first
/// 100 bytes of its body only.
fn forward_cut(port: u16, client: &mut TcpStream, head: &str, body: &[u8]) {
    let answer = answer_of(port, head, body);
    let cut = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4 + 100);
    let _ = client.write_all(&answer[..cut.min(answer.len())]);
    let _ = client.flush();
}

/// Azurite's whole answer to a request (sent with `Connection: close`).
fn answer_of(port: u16, head: &str, body: &[u8]) -> Vec<u8> {
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)) else {
        return Vec::new();
    };
    if up.write_all(head.as_bytes()).is_err() || up.write_all(body).is_err() {
        return Vec::new();
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    answer
}

/// A stand-in for Microsoft Entra ID's token endpoint and the machine's
/// identity endpoint (IMDS): every request is answered 200 with one fake
/// bearer token in the fields each flow reads, and recorded.
pub struct TokenServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Requests seen: head and body.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// The token the token server (and the fake `az`) hands out.
pub const FAKE_TOKEN: &str = "fake-entra-token-for-aibnet-tests";

impl TokenServer {
    pub fn start() -> TokenServer {
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let Some((head, body)) = read_request(&mut client) else {
                    continue;
                };
                seen2
                    .lock()
                    .unwrap()
                    .push(format!("{head}{}", String::from_utf8_lossy(&body)));
                let expires = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_secs()
                    + 3600;
                let json = format!(
                    "{{\"access_token\":\"{FAKE_TOKEN}\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"expires_on\":\"{expires}\",\"resource\":\"https://storage.azure.com\"}}"
                );
                let _ = write!(
                    client,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                    json.len()
                );
            }
        });
        TokenServer { port, seen }
    }

    /// The requests seen, each as one text.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
