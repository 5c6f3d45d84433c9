//! mysql2's `ssl` option on rustls (no OpenSSL). Defaults are stricter than
//! mysql2's: with `rejectUnauthorized` the server name is checked too, unless
//! `verifyIdentity: false`. Protocol versions: rustls's defaults, TLS 1.2 and
//! 1.3, both always offered; lib/config.js accepts the `minVersion` /
//! `maxVersion` values this meets and refuses the rest.
use crate::config::SslConfig;
use crate::error::ErrInfo;
use mysql_async::{ClientIdentity, SslOpts};

pub fn install_crypto_provider() {
    // Only one provider is compiled in; installing it up front avoids rustls
    // having to guess (and panicking if it cannot).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn buf(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub fn ssl_opts(cfg: &SslConfig) -> Result<SslOpts, ErrInfo> {
    let mut opts = SslOpts::default();
    if let Some(cas) = &cfg.ca {
        if cas.iter().any(|c| !c.contains("-----BEGIN CERTIFICATE-----")) {
            return Err(ErrInfo::new("ERR_TLS_INVALID_CA", "ssl.ca must be PEM text (-----BEGIN CERTIFICATE-----)"));
        }
        // Like Node's tls: a given `ca` replaces the default trust store.
        opts = opts.with_root_certs(cas.iter().map(|c| buf(c).into()).collect()).with_disable_built_in_roots(true);
    }
    match (&cfg.cert, &cfg.key) {
        (Some(cert), Some(key)) => {
            opts = opts.with_client_identity(Some(ClientIdentity::new(buf(cert).into(), buf(key).into())));
        }
        (None, None) => {}
        _ => return Err(ErrInfo::new("ERR_TLS_CLIENT_IDENTITY", "ssl.cert and ssl.key must be given together")),
    }
    if !cfg.reject_unauthorized {
        opts = opts.with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true);
    } else if !cfg.verify_identity {
        opts = opts.with_danger_skip_domain_validation(true);
    }
    if let Some(name) = &cfg.servername {
        opts = opts.with_danger_tls_hostname_override(Some(name.clone()));
    }
    Ok(opts)
}
