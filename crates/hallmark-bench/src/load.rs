//! The load generator: N tokio tasks over one reqwest client posting
//! pre-built bodies for a fixed duration, recording each request's latency.
//!
//! Shared by the EST, OCSP and cfssl runs so peers face the same client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What one load run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Successful requests per second.
    pub per_s: f64,
    /// Latency percentiles of successful requests, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Successful requests.
    pub ok: usize,
    /// Failed requests (non-2xx or transport errors).
    pub errors: usize,
    /// The first failure seen, for the notes.
    pub first_error: Option<String>,
    /// The pool of bodies ran out before the duration elapsed.
    pub exhausted: bool,
    /// Bodies taken from the pool (sent, successfully or not); 0 with `replay`.
    pub used: usize,
    /// CPU time of this (load generator) process per successful request,
    /// milliseconds: what the client side costs on the shared cores.
    pub client_cpu_ms: Option<f64>,
}

/// One request template: method POST, these URLs, content type, bodies.
#[derive(Debug)]
pub struct Target {
    /// Full URLs; worker `i` posts to `urls[i % urls.len()]` (several
    /// server nodes share the workers evenly and one body pool).
    pub urls: Vec<String>,
    /// `Content-Type` header.
    pub content_type: &'static str,
    /// Bodies; each used once unless `replay`.
    pub bodies: Arc<Vec<Vec<u8>>>,
    /// Reuse bodies round-robin (OCSP) instead of once each (issuance).
    pub replay: bool,
}

/// A rustls client config trusting `root_pem`, optionally with a client identity.
pub fn tls_config(
    root_pem: Option<&[u8]>,
    identity: Option<(&[u8], &[u8])>,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = root_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.context("root PEM")?)?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem).collect::<Result<Vec<_>, _>>()?;
            let key = PrivateKeyDer::from_pem_slice(key_pem).context("station key")?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    })
}

/// A keep-alive client (HTTP/1.1) using `tls`.
pub fn client(tls: rustls::ClientConfig) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Runs `concurrency` workers against `target` for `duration`.
pub async fn run(
    client: &reqwest::Client,
    target: &Target,
    concurrency: usize,
    duration: Duration,
) -> Result<LoadResult> {
    anyhow::ensure!(!target.urls.is_empty(), "no URL to load");
    anyhow::ensure!(!target.bodies.is_empty(), "no request body to send");
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = crate::server::cpu_seconds(std::process::id()).ok();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, next) = (client.clone(), Arc::clone(&next));
        let (url, ct, bodies, replay) = (
            target.urls[w % target.urls.len()].clone(),
            target.content_type,
            Arc::clone(&target.bodies),
            target.replay,
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut first_error, mut exhausted) = (0usize, None, false);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = if replay {
                    bodies[i % bodies.len()].clone()
                } else if let Some(b) = bodies.get(i) {
                    b.clone()
                } else {
                    exhausted = true;
                    break;
                };
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await;
                let outcome = match res {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await.map(|_| ()).map_err(|e| e.to_string())
                    }
                    Ok(r) => {
                        let status = r.status();
                        Err(format!("{status}: {}", r.text().await.unwrap_or_default()))
                    }
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, errors, first_error, exhausted)
        }));
    }
    let mut all = Vec::new();
    let mut result = LoadResult::default();
    for task in tasks {
        let (lat, errors, first_error, exhausted) = task.await?;
        all.extend(lat);
        result.errors += errors;
        result.exhausted |= exhausted;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    result.ok = all.len();
    if !target.replay {
        result.used = next.load(Ordering::Relaxed).min(target.bodies.len());
    }
    result.per_s = all.len() as f64 / elapsed;
    let cpu_after = crate::server::cpu_seconds(std::process::id()).ok();
    result.client_cpu_ms = crate::server::cpu_ms_per(cpu_before, cpu_after, result.ok);
    result.p50_ms = percentile(&all, 0.50);
    result.p99_ms = percentile(&all, 0.99);
    Ok(result)
}

/// The `q` quantile of sorted values (nearest rank); 0 when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Never-used P-256 CSRs for the issuance runs, generated ahead of each
/// timed window and sized from a rate ceiling, so that no run can drain it.
///
/// Each run borrows [`CsrPool::fresh`] (topped up first if short), then
/// [`CsrPool::consume`]s what it actually sent: a CSR, and so a key, is sent
/// to a server at most once in the whole bench run.
#[derive(Debug)]
pub struct CsrPool {
    csrs: Vec<Vec<u8>>,
    next: usize,
    threads: usize,
    /// Issuance rate no run is expected to beat, per second.
    ceiling: f64,
    /// Time spent generating, for the log.
    pub generated_s: f64,
}

impl CsrPool {
    /// Headroom over the ceiling.
    const MARGIN: f64 = 1.5;

    /// An empty pool; `ceiling` is the assumed top issuance rate until
    /// [`CsrPool::set_ceiling`] gives a measured one.
    pub fn new(threads: usize, ceiling: f64) -> Self {
        Self {
            csrs: Vec::new(),
            next: 0,
            threads,
            ceiling,
            generated_s: 0.0,
        }
    }

    /// Sets the rate ceiling (the crypto floor: a server does at least the
    /// floor's work per certificate on the same cores, and so does cfssl).
    pub fn set_ceiling(&mut self, per_s: f64) {
        self.ceiling = per_s.max(1.0);
    }

    fn ensure(&mut self, n: usize) -> Result<()> {
        let have = self.csrs.len() - self.next;
        if have < n {
            let t = Instant::now();
            let more = make_csrs(n - have, self.threads, self.csrs.len())?;
            self.csrs.extend(more);
            self.generated_s += t.elapsed().as_secs_f64();
        }
        Ok(())
    }

    /// At least `n` CSRs that may have been used before (in-process and
    /// CLI measurements, where reuse does not matter).
    pub fn any(&mut self, n: usize) -> Result<&[Vec<u8>]> {
        if self.csrs.len() < n {
            self.ensure(n - self.next)?;
        }
        Ok(&self.csrs[..n])
    }

    /// Never-used CSRs for a run of `duration`: the ceiling × duration ×
    /// 1.5 plus 512. Not consumed until [`CsrPool::consume`].
    pub fn fresh(&mut self, duration: Duration) -> Result<&[Vec<u8>]> {
        let n = (self.ceiling * duration.as_secs_f64() * Self::MARGIN).ceil() as usize + 512;
        self.ensure(n)?;
        Ok(&self.csrs[self.next..self.next + n])
    }

    /// Marks the first `n` fresh CSRs as used.
    pub fn consume(&mut self, n: usize) {
        self.next = (self.next + n).min(self.csrs.len());
    }

    /// CSRs sent to a server so far.
    pub fn consumed(&self) -> usize {
        self.next
    }
}

/// `n` P-256 CSRs (DER) made with rcgen on all cores, outside any timed
/// window; common names `bench-<first + i>`.
pub fn make_csrs(n: usize, threads: usize, first: usize) -> Result<Vec<Vec<u8>>> {
    let per = n.div_ceil(threads.max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|t| {
                s.spawn(move || -> Result<Vec<Vec<u8>>> {
                    (0..per)
                        .map(|i| {
                            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
                            let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
                            params.distinguished_name.push(
                                rcgen::DnType::CommonName,
                                format!("bench-{}", first + t * per + i),
                            );
                            Ok(params.serialize_request(&key)?.der().to_vec())
                        })
                        .collect()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("csr thread panicked"))??,
            );
        }
        out.truncate(n);
        Ok(out)
    })
}
