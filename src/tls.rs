//! The process-wide TLS crypto provider for every HTTPS client stepkit builds (reqwest over rustls).

/// Installs rustls' ring provider once; later calls (and a provider installed first) are fine.
pub fn install_crypto_provider() {
    // reqwest is built without a provider of its own so that ring, which builds fast and needs no
    // cmake, is the one; rustls wants it chosen once per process before the first client.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
