//! The process-wide TLS crypto provider for every HTTPS client stepkit builds (reqwest over rustls).

/// Installs rustls' ring provider once; later calls (and a provider installed first) are fine.
/// octocrab's connector calls for it too (it takes the process default).
pub fn install_crypto_provider() {
    // reqwest is built without a provider of its own so that ring, which builds fast and needs no
    // cmake, is the one; rustls wants it chosen once per process before the first client.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder, after the provider is in place: build every HTTP client from this one,
/// since reqwest panics when a client is built with no provider installed.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}
