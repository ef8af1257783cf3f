//! The `[sync]` section: where head office's receiver is and how to authenticate to it. The uploader and the
//! configuration pull (the `sync` module) read it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use serde::{Deserialize, Serialize};

/// Settings for uploading the journal to head office. Files are read when the uploader (re)connects, so a fixed
/// secret or certificate is picked up at the next retry without a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Base URL of the receiver, `https://host[:port][/prefix]`. `http://` only for `127.0.0.1` / `localhost`.
    pub url: String,
    /// This gateway's id at head office: 1-64 of `A-Z a-z 0-9 . _ -`.
    pub gateway_id: String,
    /// File holding the per-gateway HMAC secret (surrounding whitespace is trimmed; at least 16 bytes remain).
    pub secret_file: PathBuf,
    /// Extra PEM CA certificate(s) trusted besides the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for receivers that require mutual TLS (with `client_key_file`).
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// Most events in one batch.
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// Most bytes of one batch's JSON before compression (a single larger event is still sent alone).
    #[serde(default = "default_batch_max_bytes")]
    pub batch_max_bytes: usize,
    /// Limit for one whole request: connect, TLS, send, and the complete reply.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
    /// Longest wait between retries; also the retry interval while an alarm is raised.
    #[serde(default = "default_backoff_max_s")]
    pub backoff_max_s: u64,
    /// How often to ask head office for a new configuration; 0 turns configuration pull off.
    #[serde(default = "default_config_poll_s")]
    pub config_poll_s: u64,
    /// Delete local journal events head office has stored once they are this many days old (never events of an
    /// open ticket); keep everything when not set.
    #[serde(default)]
    pub retain_synced_days: Option<u32>,
}

fn default_config_poll_s() -> u64 {
    300
}

fn default_batch_max_events() -> usize {
    500
}

fn default_batch_max_bytes() -> usize {
    1024 * 1024
}

fn default_timeout_s() -> u64 {
    30
}

fn default_backoff_max_s() -> u64 {
    300
}

/// The smallest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

impl SyncConfig {
    /// A configuration with every optional key at its default.
    pub fn new(url: impl Into<String>, gateway_id: impl Into<String>, secret_file: impl Into<PathBuf>) -> SyncConfig {
        SyncConfig {
            url: url.into(),
            gateway_id: gateway_id.into(),
            secret_file: secret_file.into(),
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            batch_max_events: default_batch_max_events(),
            batch_max_bytes: default_batch_max_bytes(),
            timeout_s: default_timeout_s(),
            backoff_max_s: default_backoff_max_s(),
            config_poll_s: default_config_poll_s(),
            retain_synced_days: None,
        }
    }

    /// Checks the values (not the files; see [`SyncConfig::check_files`]). Each message names its key.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if let Err(message) = Endpoint::parse(&self.url, "gw") {
            errors.push(format!("sync.url: {message}"));
        }
        if !valid_gateway_id(&self.gateway_id) {
            errors.push("sync.gateway_id: must be 1-64 characters of A-Z a-z 0-9 . _ -".into());
        }
        if self.secret_file.as_os_str().is_empty() {
            errors.push("sync.secret_file: must name the file holding this gateway's secret".into());
        }
        for (key, path) in [
            ("sync.ca_file", &self.ca_file),
            ("sync.client_cert_file", &self.client_cert_file),
            ("sync.client_key_file", &self.client_key_file),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                errors.push(format!("{key}: must not be empty (leave the key out instead)"));
            }
        }
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            errors.push("sync.client_cert_file: client_cert_file and client_key_file go together".into());
        }
        if !(1..=10_000).contains(&self.batch_max_events) {
            errors.push("sync.batch_max_events: must be between 1 and 10000".into());
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.batch_max_bytes) {
            errors.push("sync.batch_max_bytes: must be between 1024 and 67108864".into());
        }
        if !(1..=600).contains(&self.timeout_s) {
            errors.push("sync.timeout_s: must be between 1 and 600".into());
        }
        if !(1..=86_400).contains(&self.backoff_max_s) {
            errors.push("sync.backoff_max_s: must be between 1 and 86400".into());
        }
        if self.config_poll_s > 86_400 {
            errors.push("sync.config_poll_s: must be between 0 (no configuration pull) and 86400".into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Reads the secret, CA, and client certificate files the way the uploader will, and reports what is wrong
    /// with them (for `bellhop check` or a config reload).
    pub fn check_files(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if let Err(message) = read_secret(&self.secret_file) {
            errors.push(format!("sync.secret_file: {message}"));
        }
        if let Err(message) = client_config(self) {
            errors.push(message);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn valid_gateway_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Reads a secret file: its content with surrounding ASCII whitespace trimmed, used as the HMAC key's bytes.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = raw.trim_ascii().to_vec();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!("{} holds {} bytes; at least {MIN_SECRET_BYTES} are needed", path.display(), secret.len()));
    }
    Ok(secret)
}

/// Where batches go: parsed from [`SyncConfig::url`] and the gateway id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `true` for `https`.
    pub tls: bool,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The value of the `Host` header.
    pub authority: String,
    /// The request path, `{prefix}/v1/gateways/{gateway_id}/events`: this is also the signed path.
    pub path: String,
}

impl Endpoint {
    /// Parses and checks a base URL.
    pub fn parse(base: &str, gateway_id: &str) -> Result<Endpoint, String> {
        let url = url::Url::parse(base).map_err(|e| format!("not a URL ({e})"))?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("must name a host".into()),
        };
        let tls = match url.scheme() {
            "https" => true,
            "http" if matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") => false,
            "http" => return Err("must be https:// (http:// only for 127.0.0.1 or localhost)".into()),
            _ => return Err("must be https://".into()),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        let port = url.port_or_known_default().ok_or("has no port")?;
        let authority = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err("must name a host".into()),
        };
        let prefix = url.path().trim_end_matches('/');
        Ok(Endpoint { tls, host, port, authority, path: format!("{prefix}/v1/gateways/{gateway_id}/events") })
    }

    /// Another resource of this gateway at head office: `leaf` replaces the final `events` of the upload path.
    pub fn sibling(&self, leaf: &str) -> String {
        format!("{}{leaf}", self.path.strip_suffix("events").unwrap_or(&self.path))
    }
}

/// Builds the TLS client configuration: ring provider, TLS 1.2 and 1.3, the system's roots plus `ca_file`, and the
/// client certificate if configured. Errors name the key whose file is wrong.
pub fn client_config(config: &SyncConfig) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(ca_file) = &config.ca_file {
        let certs = read_certs(ca_file).map_err(|e| format!("sync.ca_file: {e}"))?;
        for cert in certs {
            roots.add(cert).map_err(|e| format!("sync.ca_file: {}: {e}", ca_file.display()))?;
        }
    }
    if roots.is_empty() {
        return Err("sync.ca_file: no trusted CA: the system has no root certificates and no ca_file is set".into());
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("sync: TLS setup: {e}"))?
        .with_root_certificates(roots);
    let mut tls = match (&config.client_cert_file, &config.client_key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = read_certs(cert_file).map_err(|e| format!("sync.client_cert_file: {e}"))?;
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|e| format!("sync.client_key_file: {}: {e}", key_file.display()))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("sync.client_key_file: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> SyncConfig {
        SyncConfig::new(url, "hotel-42", "/etc/bellhop/sync.secret")
    }

    #[test]
    fn defaults_come_from_toml() {
        let parsed: SyncConfig =
            toml::from_str("url = \"https://ho.example\"\ngateway_id = \"g1\"\nsecret_file = \"/s\"\n").unwrap();
        assert_eq!(parsed, SyncConfig::new("https://ho.example", "g1", "/s"));
        assert_eq!(parsed.batch_max_events, 500);
        assert_eq!(parsed.batch_max_bytes, 1_048_576);
        assert_eq!(parsed.timeout_s, 30);
        assert_eq!(parsed.backoff_max_s, 300);
        assert!(toml::from_str::<SyncConfig>(
            "url = \"https://x\"\ngateway_id = \"g\"\nsecret_file = \"/s\"\nbogus = 1"
        )
        .is_err());
    }

    #[test]
    fn validate_names_the_key() {
        assert_eq!(config("https://ho.example/ingest/").validate(), Ok(()));
        assert_eq!(config("http://127.0.0.1:8080").validate(), Ok(()));
        assert_eq!(config("http://localhost:8080").validate(), Ok(()));
        let errors = config("http://ho.example").validate().unwrap_err();
        assert_eq!(errors, vec!["sync.url: must be https:// (http:// only for 127.0.0.1 or localhost)"]);
        assert!(config("ftp://ho.example").validate().unwrap_err()[0].starts_with("sync.url: must be https://"));
        assert!(config("https://u:p@ho.example").validate().is_err());
        let mut bad = config("https://ho.example?x=1");
        bad.gateway_id = "a/b".into();
        bad.client_cert_file = Some("/c.pem".into());
        bad.batch_max_events = 0;
        bad.batch_max_bytes = 10;
        bad.timeout_s = 0;
        bad.backoff_max_s = 0;
        let errors = bad.validate().unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "sync.url",
                "sync.gateway_id",
                "sync.client_cert_file",
                "sync.batch_max_events",
                "sync.batch_max_bytes",
                "sync.timeout_s",
                "sync.backoff_max_s"
            ]
        );
    }

    #[test]
    fn endpoint_keeps_a_prefix_and_the_port() {
        let e = Endpoint::parse("https://ho.example:8443/ingest/", "g1").unwrap();
        assert_eq!(
            e,
            Endpoint {
                tls: true,
                host: "ho.example".into(),
                port: 8443,
                authority: "ho.example:8443".into(),
                path: "/ingest/v1/gateways/g1/events".into()
            }
        );
        let e = Endpoint::parse("https://[::1]", "g1").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("::1", 443, "/v1/gateways/g1/events"));
    }

    #[test]
    fn secrets_are_trimmed_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "0123456789abcdef0123\n").unwrap();
        assert_eq!(read_secret(&path).unwrap(), b"0123456789abcdef0123");
        std::fs::write(&path, "short\n").unwrap();
        assert!(read_secret(&path).unwrap_err().contains("at least 16"));
        assert!(read_secret(&dir.path().join("missing")).unwrap_err().contains("cannot read"));
    }
}
