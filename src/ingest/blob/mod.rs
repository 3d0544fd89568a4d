//! Azure Blob Storage inputs: a storage location named as a PATH is listed
//! (pruned by the time window), and its blobs are downloaded in parallel on
//! a private tokio runtime while the scan parses the ones already there.
//!
//! The API outward stays blocking: [`discover`](super::discover_with)
//! lists, and [`load`](super::load) of a [`Source::Blob`](super::Source)
//! waits for that blob only. Each load starts the download of the blobs
//! after it (a read-ahead of `concurrency`), so downloads overlap parsing
//! while what is held in memory stays bounded by threads × read-ahead blobs.
//! A blob read a second time (the scan's second pass) is downloaded again,
//! or read from the `--cache`.

mod cache;
mod list;
mod location;

pub use list::{Window, folder_span};
pub use location::{
    AzureEnv, Credential, EMULATOR_ACCOUNT, Env, Location, azure_env, choose_credential, is_remote,
    redact,
};

use futures::StreamExt;
use object_store::azure::{MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How storage locations are read: a run option (the `--concurrency` and
/// `--cache` flags), with the counters the run fills in.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Downloads (and hour listings) in flight at once.
    pub concurrency: usize,
    /// Keep downloaded blobs here, by path and ETag.
    pub cache: Option<PathBuf>,
    /// What was listed and downloaded (shared by every clone).
    pub stats: Arc<RemoteStats>,
    /// Retries of a request that failed with a server error, throttling or a
    /// timeout, with exponential backoff.
    pub retries: usize,
    /// The timeout of one request.
    pub timeout: Duration,
    /// The environment's credential settings (the library reads no
    /// environment: the CLI passes [`azure_env`] of its own).
    pub env: AzureEnv,
}

/// The default number of downloads in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// The default timeout of one storage request (`--storage-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            concurrency: DEFAULT_CONCURRENCY,
            cache: None,
            stats: Arc::default(),
            retries: 5,
            timeout: DEFAULT_TIMEOUT,
            env: AzureEnv::default(),
        }
    }
}

/// Counters of the storage reads of a run (for the stderr line).
#[derive(Debug, Default)]
pub struct RemoteStats {
    /// Storage locations named.
    pub locations: AtomicU64,
    /// Blobs listed.
    pub listed: AtomicU64,
    /// Folders of the `y=/m=/d=/h=` layout skipped by the window, never listed.
    pub pruned: AtomicU64,
    /// List requests made.
    pub list_requests: AtomicU64,
    /// Blobs downloaded.
    pub downloaded: AtomicU64,
    /// Bytes downloaded.
    pub bytes: AtomicU64,
    /// Blobs read from the cache instead.
    pub cached: AtomicU64,
    /// Blobs read a second time (the scan's second pass: downloaded again,
    /// or from the cache), not counted above.
    pub again: AtomicU64,
    /// Downloads that failed.
    pub failed: AtomicU64,
    /// Folders and blobs the selection (`--nsg`, `--mac`, `--vnet`,
    /// `--subnet`) left out while listing, never downloaded.
    pub deselected: AtomicU64,
    /// Ranged reads of a blob's start for its flow log's target.
    pub heads: AtomicU64,
    /// Local files the selection left out.
    pub files_deselected: AtomicU64,
    /// Requests answered with throttling (429, 503), a server error or a
    /// timeout, and tried again after a backoff.
    pub retried: AtomicU64,
    /// Blobs that changed between their listing and their download (read
    /// as of their newer ETag).
    pub changed: AtomicU64,
}

impl RemoteStats {
    /// One line for stderr, or `None` when no storage location was read.
    pub fn summary(&self) -> Option<String> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        if get(&self.locations) == 0 {
            return None;
        }
        Some(
            format!(
                "storage: {} blobs listed ({} list requests; {} time folders skipped by the window, never listed), {} downloaded ({}), {} from the cache, {} read again, {} failed",
                get(&self.listed),
                get(&self.list_requests),
                get(&self.pruned),
                get(&self.downloaded),
                size(get(&self.bytes)),
                get(&self.cached),
                get(&self.again),
                get(&self.failed),
            ) + &[
                (
                    get(&self.deselected),
                    "folders or blobs left out by the selection, never downloaded",
                ),
                (
                    get(&self.heads),
                    "blob starts read for their flow log's target",
                ),
                (
                    get(&self.retried),
                    "requests retried after throttling, a server error or a timeout",
                ),
                (
                    get(&self.changed),
                    "blobs changed since listed (read as of their newer ETag)",
                ),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!(", {n} {what}"))
            .collect::<String>(),
        )
    }

    /// One line for stderr on the local files the selection left out, or
    /// `None` when it left out none.
    pub fn local_summary(&self) -> Option<String> {
        let n = self.files_deselected.load(Ordering::Relaxed);
        (n > 0).then(|| {
            format!("{n} files left out by the selection (--nsg, --mac, --vnet, --subnet)")
        })
    }
}

/// A byte count for people: bytes, then KiB, MiB, GiB (binary units, one
/// decimal; two for GiB).
fn size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", b / K),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", b / (K * K)),
        _ => format!("{:.2} GiB", b / (K * K * K)),
    }
}

/// One listed blob.
#[derive(Debug)]
struct Blob {
    path: Path,
    display: String,
    size: u64,
    /// The ETag it is read as of (unquoted): the listed one, then the one
    /// its first download read (a second read asks for the same version).
    etag: Mutex<Option<String>>,
}

impl Blob {
    fn etag(&self) -> Option<String> {
        self.etag.lock().ok().and_then(|e| e.clone())
    }
}

/// What a finished download left.
enum Fetched {
    Memory(Vec<u8>),
    /// A cache entry (kept).
    File(PathBuf),
    /// A temporary file of a large blob read without `--cache` (removed
    /// once mapped: the mapping keeps its pages).
    Temp(PathBuf),
}

/// Blobs at least this large (as listed) are downloaded to a temporary
/// file and mapped, not held in memory, when there is no `--cache`: a
/// capture of gigabytes is paged in and out by the kernel like a local
/// file, and `--max-gunzip` does not bound it.
pub const TEMP_FILE_BYTES: u64 = 32 << 20;

/// The folder of those temporary files: private to the user, and cleared
/// of what runs that no longer exist left there.
fn temp_dir() -> Option<PathBuf> {
    let user = std::env::var("USER").unwrap_or_else(|_| "user".to_string());
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let dir = std::env::temp_dir().join(format!("aibnet-downloads-{user}"));
    cache::prepare(&dir).ok().map(|()| dir)
}

/// A blob's download: never started, under way, done, or done and taken
/// by its reader (its bytes are the reader's now).
enum Slot {
    Idle,
    InFlight,
    Ready(Result<Fetched, String>),
    Taken,
}

/// The blobs of one storage location, and their downloads.
pub struct BlobSet {
    runtime: Option<tokio::runtime::Runtime>,
    store: Arc<MicrosoftAzure>,
    credential: String,
    location: String,
    blobs: Vec<Blob>,
    slots: Mutex<Vec<Slot>>,
    ready: Condvar,
    permits: Arc<tokio::sync::Semaphore>,
    opts: RemoteOptions,
    max_bytes: u64,
}

impl std::fmt::Debug for BlobSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobSet({}, {} blobs)", self.location, self.blobs.len())
    }
}

impl Drop for BlobSet {
    fn drop(&mut self) {
        // Read-ahead downloads nobody waits for are abandoned, not awaited.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        // Temporary files downloaded and never read.
        if let Ok(slots) = self.slots.lock() {
            for s in slots.iter() {
                if let Slot::Ready(Ok(Fetched::Temp(p))) = s {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }
}

/// One blob of a [`BlobSet`], as an input source.
#[derive(Debug, Clone)]
pub struct BlobSource {
    set: Arc<BlobSet>,
    index: usize,
}

impl BlobSource {
    /// The blob's URL as shown (no SAS).
    pub fn display(&self) -> &str {
        self.set
            .blobs
            .get(self.index)
            .map_or("", |b| b.display.as_str())
    }

    /// The blob's size as listed.
    pub fn size(&self) -> u64 {
        self.set.blobs.get(self.index).map_or(0, |b| b.size)
    }

    /// Wait for the blob's bytes (starting its download and the read-ahead).
    pub(crate) fn fetch(&self) -> Result<super::Bytes, String> {
        match self.set.take(self.index)? {
            Fetched::Memory(v) => Ok(super::Bytes::Owned(v)),
            Fetched::File(p) => {
                super::bytes::map_file(&p).map_err(|e| format!("cached copy {}: {e}", p.display()))
            }
            Fetched::Temp(p) => {
                let mapped = super::bytes::map_file(&p)
                    .map_err(|e| format!("downloaded copy {}: {e}", p.display()));
                let _ = std::fs::remove_file(&p);
                mapped
            }
        }
    }
}

impl PartialEq for BlobSource {
    fn eq(&self, other: &Self) -> bool {
        self.display() == other.display()
    }
}
impl Eq for BlobSource {}
impl PartialOrd for BlobSource {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BlobSource {
    /// By path component, as local paths sort (`a/b` before `a-2/b`), so
    /// that inputs are numbered as for the same tree on disk.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.display().split('/').cmp(other.display().split('/'))
    }
}

/// Build the client of a location with its credential (see
/// [`choose_credential`]).
fn open_store(
    loc: &Location,
    cred: &Credential,
    env: &Env,
    opts: &RemoteOptions,
) -> Result<MicrosoftAzure, String> {
    let mut b = MicrosoftAzureBuilder::new()
        .with_account(&loc.account)
        .with_container_name(&loc.container)
        .with_retry(RetryConfig {
            max_retries: opts.retries,
            retry_timeout: opts.timeout.saturating_mul(3),
            ..RetryConfig::default()
        });
    for (k, v) in env {
        // The environment's settings the credentials need (MSI endpoint,
        // authority host, federated token file…); keys and SAS tokens are
        // given below, as chosen.
        let lower = k.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "azure_client_id"
                | "azure_client_secret"
                | "azure_tenant_id"
                | "azure_authority_host"
                | "azure_federated_token_file"
                | "azure_msi_endpoint"
                | "azure_identity_endpoint"
                | "azure_object_id"
                | "azure_msi_resource_id"
        ) && let Ok(key) = lower.parse()
        {
            b = b.with_config(key, v);
        }
    }
    let mut client = ClientOptions::new().with_timeout(opts.timeout);
    let emulator_env = env
        .get("AZURE_STORAGE_USE_EMULATOR")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    match &loc.endpoint {
        Some(e) => {
            if e.starts_with("http://") {
                client = client.with_allow_http(true);
            }
            b = b.with_endpoint(e.clone());
        }
        None if emulator_env => {
            // `az://` with the emulator: its default address, or
            // AZURITE_BLOB_STORAGE_URL.
            let base = env
                .get("AZURITE_BLOB_STORAGE_URL")
                .map_or("http://127.0.0.1:10000", String::as_str);
            client = client.with_allow_http(true);
            b = b.with_endpoint(format!("{}/{}", base.trim_end_matches('/'), loc.account));
        }
        None => {}
    }
    b = b
        .with_client_options(client)
        .with_http_connector(CountingConnector(Arc::clone(&opts.stats)));
    b = match cred {
        Credential::Sas { token, .. } => {
            let pairs =
                object_store::azure::split_sas(token).map_err(|e| redact(&e.to_string()))?;
            b.with_sas_authorization(pairs)
                .with_credential_type("sas_token")
        }
        Credential::AccountKey { key, .. } => {
            b.with_access_key(key).with_credential_type("access_key")
        }
        Credential::Emulator => b
            .with_access_key(EMULATOR_KEY)
            .with_credential_type("access_key"),
        Credential::ServicePrincipal => b.with_credential_type("client_secret"),
        Credential::WorkloadIdentity => b.with_credential_type("workload_identity"),
        Credential::AzureCli => b.with_credential_type("azure_cli"),
        Credential::ManagedIdentity => b.with_credential_type("managed_identity"),
    };
    b.build().map_err(|e| redact(&e.to_string()))
}

/// The HTTP client of a store: object_store's own (reqwest, rustls),
/// counting the answers it will retry (throttling, server errors,
/// timeouts) for the stderr line.
#[derive(Debug)]
struct CountingConnector(Arc<RemoteStats>);

impl HttpConnector for CountingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(Counting {
            inner: ReqwestConnector::default().connect(options)?,
            stats: Arc::clone(&self.0),
        }))
    }
}

#[derive(Debug)]
struct Counting {
    inner: HttpClient,
    stats: Arc<RemoteStats>,
}

#[async_trait::async_trait]
impl HttpService for Counting {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let r = self.inner.execute(req).await;
        let busy = match &r {
            Ok(resp) => {
                let code = resp.status().as_u16();
                code == 429 || code >= 500
            }
            Err(e) => matches!(
                e.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            ),
        };
        if busy {
            self.stats.retried.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

/// The emulator's published account key (not a secret).
const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An error of a storage request, for people: what failed, on which blob or
/// container, and with which credential (never a secret).
fn describe(e: &object_store::Error, what: &str, credential: &str) -> String {
    if let Some(why) = sign_in_failure(e) {
        return redact(&format!(
            "{what}: could not get a token with {credential}: {why}"
        ));
    }
    match status(e) {
        Some(403 | 401) => format!(
            "access denied (403) to {what} with {credential}: the credential is wrong or expired, or lacks read and list permission"
        ),
        Some(404) => format!("not found (404): {what}"),
        Some(code @ (429 | 500..)) => format!(
            "{what}: the storage service kept answering {code} ({}) through every retry with backoff; run again later, or with a lower --concurrency",
            if matches!(code, 429 | 503) {
                "busy, throttling"
            } else {
                "server error"
            }
        ),
        _ if timed_out(e) => format!(
            "{what}: no answer within --storage-timeout through every retry with backoff; run again later, or with a longer --storage-timeout"
        ),
        _ => redact(&format!("{what}: {e}")),
    }
}

/// Why the credential could not sign in, when that is what failed (the
/// token request, the `az` command or the federated token file), not the
/// storage request: object_store wraps those in a generic error whose
/// message says so.
fn sign_in_failure(e: &object_store::Error) -> Option<String> {
    let object_store::Error::Generic { source, .. } = e else {
        return None;
    };
    let text = source.to_string();
    [
        "Error performing token request",
        "Error getting token response body",
        "Error reading federated token file",
        "'az account get-access-token' command failed",
        "Failed to parse azure cli response",
    ]
    .iter()
    .any(|m| text.contains(m))
    .then_some(text)
}

/// Whether a request failed by timing out (through its retries): an HTTP
/// error of that kind anywhere in the error's chain of sources.
fn timed_out(e: &object_store::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<HttpError>()
            .is_some_and(|h| matches!(h.kind(), HttpErrorKind::Timeout))
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The HTTP status an error stands for: from its kind, or (list requests
/// wrap theirs in a generic error) from the status line it quotes.
fn status(e: &object_store::Error) -> Option<u16> {
    use object_store::Error as E;
    match e {
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Some(403),
        E::NotFound { .. } => Some(404),
        other => {
            let text = other.to_string();
            [
                (403, "403 Forbidden"),
                (401, "401 Unauthorized"),
                (404, "404 Not Found"),
                (503, "503 Service Unavailable"),
                (500, "500 Internal Server Error"),
                (429, "429 Too Many Requests"),
            ]
            .into_iter()
            .find(|(_, s)| text.contains(s))
            .map(|(c, _)| c)
        }
    }
}

/// List a storage location (pruned by `window`) into sources: one per
/// blob, sorted by name. An error names the location and the credential.
pub fn discover(
    url: &str,
    window: Window,
    select: &super::Selection,
    opts: &RemoteOptions,
    max_bytes: u64,
) -> Result<Vec<super::Source>, String> {
    let env = &opts.env.0;
    let loc = Location::parse(
        url,
        env.get("AZURE_STORAGE_ACCOUNT_NAME").map(String::as_str),
    )?;
    opts.stats.locations.fetch_add(1, Ordering::Relaxed);
    let cred = choose_credential(&loc, env);
    let shown = loc.display();
    let store = open_store(&loc, &cred, env, opts).map_err(|e| format!("{shown}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aibnet-storage")
        .enable_all()
        .build()
        .map_err(|e| format!("{shown}: cannot start the download runtime: {e}"))?;
    let credential = cred.describe();
    let listed = runtime.block_on(async {
        let metas = list::list(
            &store,
            &loc.prefix,
            window,
            select,
            opts.concurrency,
            &opts.stats,
        )
        .await;
        match metas {
            // A prefix naming one blob lists nothing under it as a folder.
            Ok(v) if v.is_empty() && !loc.prefix.is_empty() => {
                match store.head(&Path::from(loc.prefix.as_str())).await {
                    Ok(m) => Ok(vec![m]),
                    Err(object_store::Error::NotFound { .. }) => Ok(v),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    });
    let metas = listed.map_err(|e| {
        let what = format!(
            "container {} of account {} ({shown})",
            loc.container, loc.account
        );
        match status(&e) {
            Some(404) => format!(
                "container {} not found in account {} (404)",
                loc.container, loc.account
            ),
            _ => format!("listing {}", describe(&e, &what, &credential)),
        }
    })?;
    if metas.is_empty() {
        return Err(match (window == Window::default(), select.is_empty()) {
            (true, true) => "no blobs there".to_string(),
            (false, true) => "no blobs in time folders of the --since/--until window".to_string(),
            _ => format!(
                "no blobs{} of {}",
                if window == Window::default() {
                    ""
                } else {
                    " in time folders of the --since/--until window"
                },
                select.describe()
            ),
        });
    }
    opts.stats
        .listed
        .fetch_add(metas.len() as u64, Ordering::Relaxed);
    let blobs: Vec<Blob> = metas
        .into_iter()
        .map(|m| Blob {
            display: loc.display_blob(m.location.as_ref()),
            size: m.size,
            etag: Mutex::new(m.e_tag.map(|e| e.trim_matches('"').to_string())),
            path: m.location,
        })
        .collect();
    let n = blobs.len();
    let set = Arc::new(BlobSet {
        runtime: Some(runtime),
        store: Arc::new(store),
        credential,
        location: shown,
        blobs,
        slots: Mutex::new((0..n).map(|_| Slot::Idle).collect()),
        ready: Condvar::new(),
        permits: Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1))),
        opts: opts.clone(),
        max_bytes,
    });
    if let Some(dir) = &opts.cache {
        cache::prepare(dir).map_err(|e| format!("--cache {}: {e}", dir.display()))?;
    }
    Ok((0..n)
        .map(|index| {
            super::Source::Blob(BlobSource {
                set: Arc::clone(&set),
                index,
            })
        })
        .collect())
}

impl BlobSet {
    /// Wait for blob `i`: start it (and the read-ahead after it) if not
    /// started, then take its bytes. A blob taken before is fetched again.
    fn take(self: &Arc<Self>, i: usize) -> Result<Fetched, String> {
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| "download state poisoned".to_string())?;
        let ahead = self.opts.concurrency.max(1);
        // The read-ahead starts blobs never fetched: the second pass reads
        // a few blobs again and needs none of their neighbours.
        for j in i..(i + 1 + ahead).min(slots.len()) {
            if let Some(s @ Slot::Idle) = slots.get_mut(j) {
                *s = Slot::InFlight;
                self.start(j, false);
            }
        }
        if let Some(s @ Slot::Taken) = slots.get_mut(i) {
            *s = Slot::InFlight;
            self.start(i, true);
        }
        loop {
            let slot = slots.get_mut(i).ok_or("no such blob")?;
            if matches!(slot, Slot::Ready(_)) {
                if let Slot::Ready(r) = std::mem::replace(slot, Slot::Taken) {
                    return r;
                }
            }
            slots = self
                .ready
                .wait(slots)
                .map_err(|_| "download state poisoned".to_string())?;
        }
    }

    /// Start downloading blob `i` on the runtime (`again`: it was read
    /// before).
    fn start(self: &Arc<Self>, i: usize, again: bool) {
        let Some(rt) = &self.runtime else { return };
        let set = Arc::clone(self);
        rt.spawn(async move {
            let result = match Arc::clone(&set.permits).acquire_owned().await {
                Ok(_permit) => set.download(i, again).await,
                Err(_) => Err("downloads stopped".to_string()),
            };
            if result.is_err() {
                set.opts.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            if let Ok(mut slots) = set.slots.lock()
                && let Some(s) = slots.get_mut(i)
            {
                *s = Slot::Ready(result);
            }
            set.ready.notify_all();
        });
    }

    /// Download blob `i`: into the cache when there is one (streamed to a
    /// temporary file, renamed when complete), else into memory (at most
    /// `max_bytes`).
    async fn download(&self, i: usize, again: bool) -> Result<Fetched, String> {
        let blob = self.blobs.get(i).ok_or("no such blob")?;
        let stats = &self.opts.stats;
        // What a download counts as: a first read from the network or the
        // cache, or a read again.
        let (downloaded, cached) = if again {
            (&stats.again, &stats.again)
        } else {
            (&stats.downloaded, &stats.cached)
        };
        let listed = blob.etag();
        if let Some(dir) = &self.opts.cache
            && let Some(etag) = &listed
        {
            let entry = cache::entry(dir, &blob.display, etag);
            if entry.is_file() {
                cached.fetch_add(1, Ordering::Relaxed);
                return Ok(Fetched::File(entry));
            }
        }
        let what = format!("blob {}", blob.display);
        // Read as of the listed ETag: the current hour's PT1H.json is
        // appended every minute. If it changed since it was listed, or
        // while it was read (a body cut short is resumed by object_store
        // only at the same ETag), it is read again as of its newer ETag,
        // whole, and counted; a second read asks for that one.
        let mut want = listed;
        for _ in 0..READS_OF_A_CHANGING_BLOB {
            match self.read_as_of(blob, want.as_deref(), &what).await {
                Ok((fetched, n)) => {
                    downloaded.fetch_add(1, Ordering::Relaxed);
                    stats.bytes.fetch_add(n, Ordering::Relaxed);
                    return Ok(fetched);
                }
                Err(Read::Changed) => {
                    stats.changed.fetch_add(1, Ordering::Relaxed);
                    want = None;
                }
                Err(Read::Failed(e)) => return Err(e),
            }
        }
        Err(format!(
            "{what}: changed while read, {READS_OF_A_CHANGING_BLOB} times in a row; run again"
        ))
    }

    /// Read a blob whole as of ETag `if_match` (any version when `None`),
    /// into the cache, a temporary file or memory; with the bytes read.
    async fn read_as_of(
        &self,
        blob: &Blob,
        if_match: Option<&str>,
        what: &str,
    ) -> Result<(Fetched, u64), Read> {
        let credential = &self.credential;
        let failed = |e: &object_store::Error| Read::Failed(describe(e, what, credential));
        // If-Match takes the quoted form.
        let opts = object_store::GetOptions {
            if_match: if_match.map(|e| format!("\"{e}\"")),
            ..Default::default()
        };
        let got = match self.store.get_opts(&blob.path, opts).await {
            Err(object_store::Error::Precondition { .. }) => return Err(Read::Changed),
            other => other.map_err(|e| failed(&e))?,
        };
        let etag: Option<String> = got
            .meta
            .e_tag
            .as_ref()
            .map(|e| e.trim_matches('"').to_string())
            .or_else(|| if_match.map(str::to_string));
        if let Ok(mut e) = blob.etag.lock() {
            e.clone_from(&etag);
        }
        let size = got.meta.size;
        let mut body = got.into_stream();
        // A body that fails is reported, unless the blob changed meanwhile
        // (then it is read again).
        let cut = |e: object_store::Error| {
            let read = etag.clone();
            async move {
                let now = self.store.head(&blob.path).await.ok().and_then(|m| m.e_tag);
                match (now, read) {
                    (Some(now), Some(read)) if now.trim_matches('"') != read => Read::Changed,
                    _ => failed(&e),
                }
            }
        };
        let to_file = match (&self.opts.cache, &etag) {
            (Some(dir), Some(etag)) => Some((dir.clone(), Some(etag.clone()))),
            _ if size >= TEMP_FILE_BYTES => temp_dir().map(|d| (d, None)),
            _ => None,
        };
        match to_file {
            Some((dir, entry_etag)) => {
                let mut w =
                    cache::Writer::create(&dir).map_err(|e| Read::Failed(format!("cache: {e}")))?;
                let mut n = 0u64;
                while let Some(chunk) = body.next().await {
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => return Err(cut(e).await),
                    };
                    n += chunk.len() as u64;
                    w.write(&chunk)
                        .map_err(|e| Read::Failed(format!("cache: {e}")))?;
                }
                match entry_etag {
                    Some(etag) => {
                        let entry = cache::entry(&dir, &blob.display, &etag);
                        w.commit(&entry)
                            .map_err(|e| Read::Failed(format!("cache: {e}")))?;
                        Ok((Fetched::File(entry), n))
                    }
                    None => w
                        .keep()
                        .map(|p| (Fetched::Temp(p), n))
                        .map_err(|e| Read::Failed(format!("temporary file: {e}"))),
                }
            }
            None => {
                let mut v =
                    Vec::with_capacity(usize::try_from(blob.size.min(self.max_bytes)).unwrap_or(0));
                while let Some(chunk) = body.next().await {
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => return Err(cut(e).await),
                    };
                    if (v.len() + chunk.len()) as u64 > self.max_bytes {
                        return Err(Read::Failed(format!(
                            "{what}: larger than {} bytes (--max-gunzip); read it with --cache DIR",
                            self.max_bytes
                        )));
                    }
                    v.extend_from_slice(&chunk);
                }
                let n = v.len() as u64;
                Ok((Fetched::Memory(v), n))
            }
        }
    }
}

/// How many times a blob that keeps changing under its reader is read
/// before it is reported.
const READS_OF_A_CHANGING_BLOB: usize = 3;

/// Why one read of a blob did not complete.
enum Read {
    /// The blob is at another ETag than the one read: read it again.
    Changed,
    /// Failed for good (a message naming the blob).
    Failed(String),
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_for_people() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (37_412, "36.5 KiB"),
            (40 << 20, "40.0 MiB"),
            (1_308_000_000, "1.22 GiB"),
        ];
        for (n, want) in cases {
            assert_eq!(super::size(n), want);
        }
    }
}
