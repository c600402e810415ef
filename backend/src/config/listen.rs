//! `[web] listen` entries as the server uses them, and a TLS listener's certificate and key:
//! where the PEM files are, and reading them into a checked pair. Reading is a function of
//! its own, not part of validation, so the server can call it again to pick up renewed
//! certificates; `checkconfig` calls it too, so a missing file or a key that belongs to
//! another certificate is found before the master starts.

use std::path::{Path, PathBuf};

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// One listening socket, plain HTTP or HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// A socket address such as `127.0.0.1:8010` (port 0 picks a free one).
    pub addr: String,
    /// The certificate and key, for HTTPS.
    pub tls: Option<TlsFiles>,
}

impl Listen {
    /// A plain HTTP listener on `addr`.
    pub fn plain(addr: impl Into<String>) -> Listen {
        Listen { addr: addr.into(), tls: None }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// The PEM files of one TLS listener, as absolute paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A certificate chain and its key, both read and found to belong together.
#[derive(Clone)]
pub struct TlsPem {
    /// The certificate chain in PEM.
    pub cert: Vec<u8>,
    /// The private key in PEM.
    pub key: Vec<u8>,
}

/// Why a certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is missing, unreadable or holds no certificate.
    #[error("{0}")]
    Cert(String),
    /// The key file is missing, unreadable, holds no usable key, or the key is not the
    /// certificate's.
    #[error("{0}")]
    Key(String),
}

impl TlsError {
    /// The key under `tls` the problem belongs to: `cert` or `key`.
    pub fn field(&self) -> &'static str {
        match self {
            TlsError::Cert(_) => "cert",
            TlsError::Key(_) => "key",
        }
    }
}

impl TlsFiles {
    /// Reads both files and checks that the key parses and matches the certificate.
    pub fn load(&self) -> Result<TlsPem, TlsError> {
        let cert = read(&self.cert).map_err(TlsError::Cert)?;
        let key = read(&self.key).map_err(TlsError::Key)?;
        let chain = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Cert(format!("{} is not a PEM certificate: {e}", self.cert.display())))?;
        if chain.is_empty() {
            return Err(TlsError::Cert(format!("{} holds no PEM certificate", self.cert.display())));
        }
        let private = PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| TlsError::Key(format!("{} holds no PEM private key: {e}", self.key.display())))?;
        // Parses the key with the provider the server will use and compares it with the
        // certificate's public key, so a mismatch is reported here rather than at handshake.
        CertifiedKey::from_der(chain, private, &aws_lc_rs::default_provider()).map_err(|e| {
            TlsError::Key(format!("{} does not fit the certificate {}: {e}", self.key.display(), self.cert.display()))
        })?;
        Ok(TlsPem { cert, key })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
