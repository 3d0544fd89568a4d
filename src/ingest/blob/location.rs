//! Storage locations as users name them, the credential each is read
//! with, and redaction of secrets from anything shown.

use std::collections::HashMap;

/// The emulator's well-known account (Azurite, the legacy Storage Emulator).
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// A container and prefix in a storage account, parsed from
/// `az://CONTAINER/PREFIX`, `https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX[?SAS]`
/// or `http(s)://HOST[:PORT]/ACCOUNT/CONTAINER/PREFIX[?SAS]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Location {
    /// The storage account.
    pub account: String,
    /// The container.
    pub container: String,
    /// The blob-name prefix (no leading `/`; empty for the whole container).
    pub prefix: String,
    /// The account's endpoint for the path-style form (`http://HOST:PORT/ACCOUNT`);
    /// `None` for the account's own host (or `az://`).
    pub endpoint: Option<String>,
    /// The SAS query of the URL, when it has one (a secret: never shown).
    sas: Option<String>,
    /// `az://` (the form is kept for display).
    az_scheme: bool,
}

impl std::fmt::Debug for Location {
    // Hand-written so that a SAS can never reach a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({})", self.display_base())
    }
}

/// Whether a PATH names a storage location rather than a local file.
pub fn is_remote(path: &str) -> bool {
    path.starts_with("az://") || path.starts_with("https://") || path.starts_with("http://")
}

impl Location {
    /// Parse a storage URL. `account_env` is `AZURE_STORAGE_ACCOUNT_NAME`
    /// (needed by `az://`).
    pub fn parse(url: &str, account_env: Option<&str>) -> Result<Location, String> {
        let shown = redact(url);
        let (body, sas) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q.to_string()).filter(|q| !q.is_empty())),
            None => (url, None),
        };
        if let Some(rest) = body.strip_prefix("az://") {
            let (container, prefix) = split_first(rest);
            let account = account_env.filter(|a| !a.is_empty()).ok_or_else(|| {
                format!("{shown}: az:// needs the account in AZURE_STORAGE_ACCOUNT_NAME")
            })?;
            return Location::new(account, container, prefix, None, sas, true, &shown);
        }
        let (scheme, rest) = body
            .split_once("://")
            .ok_or_else(|| format!("{shown}: not a storage URL"))?;
        let (host, path) = split_first(rest);
        if host.is_empty() {
            return Err(format!("{shown}: no host"));
        }
        let hostname = host.split(':').next().unwrap_or(host);
        if let Some(account) = hostname
            .strip_suffix(".blob.core.windows.net")
            .filter(|a| !a.contains('.'))
        {
            let (container, prefix) = split_first(path);
            let endpoint =
                (scheme != "https" || host != hostname).then(|| format!("{scheme}://{host}"));
            return Location::new(account, container, prefix, endpoint, sas, false, &shown);
        }
        // Path style: the emulator, or a custom endpoint.
        let (account, rest) = split_first(path);
        let (container, prefix) = split_first(rest);
        let endpoint = Some(format!("{scheme}://{host}/{account}"));
        Location::new(account, container, prefix, endpoint, sas, false, &shown)
    }

    fn new(
        account: &str,
        container: &str,
        prefix: &str,
        endpoint: Option<String>,
        sas: Option<String>,
        az_scheme: bool,
        shown: &str,
    ) -> Result<Location, String> {
        if account.is_empty() {
            return Err(format!("{shown}: no storage account"));
        }
        if container.is_empty() {
            return Err(format!("{shown}: no container"));
        }
        Ok(Location {
            account: account.to_string(),
            container: container.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint,
            sas,
            az_scheme,
        })
    }

    /// The URL of the container, as shown to users (never with a SAS).
    pub fn display_base(&self) -> String {
        if self.az_scheme {
            return format!("az://{}", self.container);
        }
        match &self.endpoint {
            // Path style: the endpoint ends with the account.
            Some(e) => format!("{e}/{}", self.container),
            None => format!(
                "https://{}.blob.core.windows.net/{}",
                self.account, self.container
            ),
        }
    }

    /// The URL of one blob, as shown to users (never with a SAS).
    pub fn display_blob(&self, name: &str) -> String {
        format!("{}/{name}", self.display_base())
    }

    /// The location as shown to users (container and prefix, no SAS).
    pub fn display(&self) -> String {
        if self.prefix.is_empty() {
            self.display_base()
        } else {
            self.display_blob(&self.prefix)
        }
    }

    /// The SAS of the URL, if any.
    pub fn sas(&self) -> Option<&str> {
        self.sas.as_deref()
    }
}

/// `a/b/c` → (`a`, `b/c`).
fn split_first(s: &str) -> (&str, &str) {
    s.split_once('/').unwrap_or((s, ""))
}

/// Which credential a location is read with, in Azure's usual order: a SAS
/// in the URL or `AZURE_STORAGE_SAS_TOKEN`; an account key
/// (`AZURE_STORAGE_ACCOUNT_KEY`, or one in `AZURE_STORAGE_CONNECTION_STRING`);
/// a service principal (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
/// `AZURE_TENANT_ID`); workload identity (`AZURE_FEDERATED_TOKEN_FILE`); the
/// Azure CLI's login (`AZURE_USE_AZURE_CLI=true`); the emulator's key
/// (`AZURE_STORAGE_USE_EMULATOR=true`, or the emulator's account); else
/// the machine's managed identity.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A SAS, from the URL or the environment.
    Sas {
        /// The query pairs (secret).
        token: String,
        /// Where it came from, for messages.
        from: &'static str,
    },
    /// An account key.
    AccountKey {
        /// The key (secret).
        key: String,
        /// Where it came from, for messages.
        from: &'static str,
    },
    /// A service principal with a client secret.
    ServicePrincipal,
    /// Workload identity (a federated token file).
    WorkloadIdentity,
    /// The Azure CLI's login.
    AzureCli,
    /// The emulator's well-known key.
    Emulator,
    /// The managed identity of the machine (IMDS).
    ManagedIdentity,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Credential {
    /// The credential as named in messages (no secret).
    pub fn describe(&self) -> String {
        match self {
            Credential::Sas { from, .. } => format!("a SAS ({from})"),
            Credential::AccountKey { from, .. } => format!("an account key ({from})"),
            Credential::ServicePrincipal => {
                "a service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)".into()
            }
            Credential::WorkloadIdentity => "workload identity (AZURE_FEDERATED_TOKEN_FILE)".into(),
            Credential::AzureCli => "the Azure CLI's login".into(),
            Credential::Emulator => "the emulator's well-known account key".into(),
            Credential::ManagedIdentity => "the machine's managed identity".into(),
        }
    }
}

/// The environment variables the credential choice reads (a map, so that
/// tests need not touch the process environment).
pub type Env = HashMap<String, String>;

/// The variables of an environment that choose and configure credentials
/// (`AZURE*`, `AZURITE_BLOB_STORAGE_URL`); the CLI passes its process's.
pub fn azure_env(vars: impl IntoIterator<Item = (String, String)>) -> AzureEnv {
    AzureEnv(
        vars.into_iter()
            .filter(|(k, _)| k.starts_with("AZURE") || k == "AZURITE_BLOB_STORAGE_URL")
            .collect(),
    )
}

/// The credential settings of an environment (secrets: its debug print
/// shows the names only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AzureEnv(pub Env);

impl std::fmt::Debug for AzureEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        f.debug_tuple("AzureEnv").field(&keys).finish()
    }
}

fn env_true(env: &Env, key: &str) -> bool {
    env.get(key)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// A connection string's fields (`AccountName=…;AccountKey=…;…`).
pub fn connection_string(s: &str) -> HashMap<String, String> {
    s.split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Choose the credential for a location (see [`Credential`] for the order).
pub fn choose_credential(loc: &Location, env: &Env) -> Credential {
    let nonempty = |k: &str| env.get(k).filter(|v| !v.is_empty());
    if let Some(sas) = loc.sas() {
        return Credential::Sas {
            token: sas.to_string(),
            from: "in the URL",
        };
    }
    if let Some(sas) = nonempty("AZURE_STORAGE_SAS_TOKEN") {
        return Credential::Sas {
            token: sas.trim_start_matches('?').to_string(),
            from: "AZURE_STORAGE_SAS_TOKEN",
        };
    }
    if let Some(key) = nonempty("AZURE_STORAGE_ACCOUNT_KEY") {
        return Credential::AccountKey {
            key: key.clone(),
            from: "AZURE_STORAGE_ACCOUNT_KEY",
        };
    }
    if let Some(cs) = nonempty("AZURE_STORAGE_CONNECTION_STRING") {
        let f = connection_string(cs);
        if let Some(sas) = f.get("SharedAccessSignature") {
            return Credential::Sas {
                token: sas.trim_start_matches('?').to_string(),
                from: "AZURE_STORAGE_CONNECTION_STRING",
            };
        }
        if let Some(key) = f.get("AccountKey") {
            return Credential::AccountKey {
                key: key.clone(),
                from: "AZURE_STORAGE_CONNECTION_STRING",
            };
        }
    }
    let has = |k: &str| nonempty(k).is_some();
    if has("AZURE_CLIENT_ID") && has("AZURE_TENANT_ID") && has("AZURE_CLIENT_SECRET") {
        return Credential::ServicePrincipal;
    }
    if has("AZURE_CLIENT_ID") && has("AZURE_TENANT_ID") && has("AZURE_FEDERATED_TOKEN_FILE") {
        return Credential::WorkloadIdentity;
    }
    if env_true(env, "AZURE_USE_AZURE_CLI") {
        return Credential::AzureCli;
    }
    if env_true(env, "AZURE_STORAGE_USE_EMULATOR") || loc.account == EMULATOR_ACCOUNT {
        return Credential::Emulator;
    }
    Credential::ManagedIdentity
}

/// Redact secrets from text shown to users: the query string of every URL
/// (a SAS: the blob path is kept), any `sig=` value left elsewhere, and
/// `AccountKey=`/`SharedAccessSignature=` values of connection strings.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_url(rest) {
        let (before, url) = rest.split_at(at);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '<' | ','))
            .unwrap_or(url.len());
        let (u, after) = url.split_at(end);
        match u.split_once('?') {
            Some((path, _)) => {
                out.push_str(path);
                out.push_str("?[redacted]");
            }
            None => out.push_str(u),
        }
        rest = after;
    }
    out.push_str(rest);
    for key in ["sig=", "AccountKey=", "SharedAccessSignature="] {
        out = redact_value(&out, key);
    }
    out
}

fn find_url(s: &str) -> Option<usize> {
    match (s.find("https://"), s.find("http://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Replace the value after `key` (up to `&`, `;`, whitespace or a quote).
fn redact_value(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (before, after) = rest.split_at(at + key.len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | '"' | '\''))
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("[redacted]");
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms() {
        let l = Location::parse("az://insights-logs-x/resourceId=/SUBS/", Some("acct")).unwrap();
        assert_eq!(
            (l.account.as_str(), l.container.as_str(), l.prefix.as_str()),
            ("acct", "insights-logs-x", "resourceId=/SUBS")
        );
        assert_eq!(l.display(), "az://insights-logs-x/resourceId=/SUBS");
        assert!(
            Location::parse("az://c/p", None)
                .unwrap_err()
                .contains("AZURE_STORAGE_ACCOUNT_NAME")
        );

        let l = Location::parse(
            "https://acct.blob.core.windows.net/c/a/b?sv=2022&sp=rl&sig=SECRET%3D",
            None,
        )
        .unwrap();
        assert_eq!((l.account.as_str(), l.prefix.as_str()), ("acct", "a/b"));
        assert_eq!(l.endpoint, None);
        assert_eq!(l.sas(), Some("sv=2022&sp=rl&sig=SECRET%3D"));
        assert_eq!(l.display(), "https://acct.blob.core.windows.net/c/a/b");
        assert!(!format!("{l:?}").contains("SECRET"));

        let l = Location::parse("http://127.0.0.1:10000/devstoreaccount1/logs", None).unwrap();
        assert_eq!(
            (l.account.as_str(), l.container.as_str(), l.prefix.as_str()),
            ("devstoreaccount1", "logs", "")
        );
        assert_eq!(
            l.endpoint.as_deref(),
            Some("http://127.0.0.1:10000/devstoreaccount1")
        );
        assert_eq!(l.display(), "http://127.0.0.1:10000/devstoreaccount1/logs");
        assert!(Location::parse("http://127.0.0.1:10000/acct", None).is_err());
    }

    #[test]
    fn credentials_in_azures_order() {
        let loc = Location::parse("https://a.blob.core.windows.net/c?sig=S", None).unwrap();
        let mut env = Env::new();
        env.insert("AZURE_STORAGE_ACCOUNT_KEY".into(), "K".into());
        assert!(matches!(
            choose_credential(&loc, &env),
            Credential::Sas {
                from: "in the URL",
                ..
            }
        ));
        let loc = Location::parse("https://a.blob.core.windows.net/c", None).unwrap();
        assert!(matches!(
            choose_credential(&loc, &env),
            Credential::AccountKey { .. }
        ));
        env.clear();
        env.insert(
            "AZURE_STORAGE_CONNECTION_STRING".into(),
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KK==;EndpointSuffix=core.windows.net".into(),
        );
        assert_eq!(
            choose_credential(&loc, &env),
            Credential::AccountKey {
                key: "KK==".into(),
                from: "AZURE_STORAGE_CONNECTION_STRING"
            }
        );
        env.clear();
        for k in ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"] {
            env.insert(k.into(), "x".into());
        }
        assert_eq!(choose_credential(&loc, &env), Credential::ServicePrincipal);
        env.clear();
        assert_eq!(choose_credential(&loc, &env), Credential::ManagedIdentity);
        env.insert("AZURE_STORAGE_USE_EMULATOR".into(), "true".into());
        assert_eq!(choose_credential(&loc, &env), Credential::Emulator);
    }

    #[test]
    fn secrets_are_redacted_keeping_the_blob_path() {
        let t = "error sending request for url (https://a.blob.core.windows.net/c/x/PT1H.json?sv=1&sig=abc%2B): 403";
        let r = redact(t);
        assert_eq!(
            r,
            "error sending request for url (https://a.blob.core.windows.net/c/x/PT1H.json?[redacted]): 403"
        );
        assert_eq!(
            redact("token sv=1&sig=abc&se=2"),
            "token sv=1&sig=[redacted]&se=2"
        );
        assert_eq!(
            redact("AccountName=a;AccountKey=xyz==;X=1"),
            "AccountName=a;AccountKey=[redacted];X=1"
        );
        assert_eq!(redact("captures/a.pcap"), "captures/a.pcap");
    }
}
