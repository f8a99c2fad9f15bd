//! [`StationClient`]: the provisioning API (`docs/api.md`) over HTTPS.
//!
//! One `reqwest` client per station: connections are kept alive and reused
//! (HTTP/2 when the server offers it), connecting gives up after
//! [`CONNECT_TIMEOUT`], a whole request after [`REQUEST_TIMEOUT`]. TLS is
//! the configuration of [`crate::tls::client_config`]: only Hallmark's root
//! is trusted, and the station's key signs through its key store.
//!
//! `HTTPS_PROXY`/`NO_PROXY` from the environment are honoured (reqwest's
//! default); a proxy only tunnels (`CONNECT`), so TLS and client
//! authentication stay end to end.
//!
//! The station token travels only in the enrollment request body: it is
//! never logged or put in an error.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::api::{
    Device, DeviceEnrollment, EnrollDeviceRequest, EnrollStationRequest, InstallationReport, Order,
    Refusal, RenewRequest, StationEnrollment, StationSelf,
};

/// How long to wait for a connection (TCP and TLS).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Answers larger than this are cut off (they are a few kilobytes).
const MAX_BODY: usize = 1 << 20;
/// How much of a non-JSON refusal body is kept in [`Error::Refused`].
const MAX_MESSAGE: usize = 200;

/// A client of one Hallmark server.
#[derive(Clone, Debug)]
pub struct StationClient {
    http: reqwest::Client,
    base: Url,
}

impl StationClient {
    /// A client of the server at `server` (an `https://` URL, optionally
    /// with a path prefix) with the TLS configuration `tls`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`], [`Error::HttpClient`].
    pub fn new(server: &str, tls: rustls::ClientConfig) -> Result<Self, Error> {
        let base = parse_server_url(server)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hallmark-station/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Self { http, base })
    }

    /// The server URL.
    pub fn server(&self) -> &Url {
        &self.base
    }

    /// `POST /api/v1/stations/enroll`: trades the one-time `token` for a station certificate.
    pub async fn enroll_station(
        &self,
        token: &str,
        csr_pem: &str,
    ) -> Result<StationEnrollment, Error> {
        let body = EnrollStationRequest {
            token,
            csr: csr_pem,
        };
        self.call(Method::POST, &["stations", "enroll"], Some(&body))
            .await
    }

    /// `POST /api/v1/stations/renew`: a new station certificate for `csr_pem`.
    pub async fn renew(&self, csr_pem: &str) -> Result<StationEnrollment, Error> {
        let body = RenewRequest { csr: csr_pem };
        self.call(Method::POST, &["stations", "renew"], Some(&body))
            .await
    }

    /// `GET /api/v1/stations/self`: who the server takes this station for.
    pub async fn whoami(&self) -> Result<StationSelf, Error> {
        self.call(Method::GET, &["stations", "self"], None::<&()>)
            .await
    }

    /// `POST /api/v1/enroll`: a device certificate for `csr_pem`. `device_id`
    /// only for pattern orders (else the CSR's CN is used).
    pub async fn enroll_device(
        &self,
        csr_pem: &str,
        device_id: Option<&str>,
    ) -> Result<DeviceEnrollment, Error> {
        self.enroll_device_with(csr_pem, device_id, None).await
    }

    /// `POST /api/v1/enroll` with the key's origin: `Some("station")` when
    /// the station generated the key and installed it on the device, `None`
    /// for a key generated on the device (the server's default).
    pub async fn enroll_device_with(
        &self,
        csr_pem: &str,
        device_id: Option<&str>,
        key_origin: Option<&str>,
    ) -> Result<DeviceEnrollment, Error> {
        let body = EnrollDeviceRequest {
            csr: csr_pem,
            device_id,
            key_origin,
        };
        self.call(Method::POST, &["enroll"], Some(&body)).await
    }

    /// `POST /api/v1/devices/<device_id>/installed`: the certificate
    /// `serial_hex` is installed on the device and the device proved it
    /// holds its key (`device.installed` in the audit log).
    pub async fn report_installed(&self, device_id: &str, serial_hex: &str) -> Result<(), Error> {
        let body = InstallationReport {
            serial: serial_hex,
            reason: None,
        };
        self.call::<_, serde::de::IgnoredAny>(
            Method::POST,
            &["devices", device_id, "installed"],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// `POST /api/v1/devices/<device_id>/not-installed`: the certificate
    /// `serial_hex` was issued but could not be installed, for `reason`
    /// (`device.not_installed` in the audit log).
    pub async fn report_not_installed(
        &self,
        device_id: &str,
        serial_hex: &str,
        reason: &str,
    ) -> Result<(), Error> {
        let body = InstallationReport {
            serial: serial_hex,
            reason: Some(reason),
        };
        self.call::<_, serde::de::IgnoredAny>(
            Method::POST,
            &["devices", device_id, "not-installed"],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// `POST /api/v1/offline-ca`: a sub-CA for the key of `csr_pem`, for
    /// `count` devices of the station's order.
    pub async fn request_offline_ca(
        &self,
        csr_pem: &str,
        count: u64,
    ) -> Result<crate::offline::Grant, Error> {
        let body = serde_json::json!({ "csr": csr_pem, "count": count });
        self.call(Method::POST, &["offline-ca"], Some(&body)).await
    }

    /// `GET /api/v1/offline-ca/<id>`.
    pub async fn offline_ca_status(&self, id: &str) -> Result<crate::api::OfflineCaStatus, Error> {
        self.call(Method::GET, &["offline-ca", id], None::<&()>)
            .await
    }

    /// `POST /api/v1/offline-ca/<id>/sync`.
    pub async fn offline_ca_sync(
        &self,
        id: &str,
        body: &crate::api::OfflineSyncBody,
    ) -> Result<(), Error> {
        self.call::<_, serde::de::IgnoredAny>(Method::POST, &["offline-ca", id, "sync"], Some(body))
            .await
            .map(drop)
    }

    /// `POST /api/v1/offline-ca/<id>/close`.
    pub async fn offline_ca_close(&self, id: &str) -> Result<(), Error> {
        self.call::<_, serde::de::IgnoredAny>(
            Method::POST,
            &["offline-ca", id, "close"],
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// `GET /api/v1/orders/<id>`.
    pub async fn order(&self, id: &str) -> Result<Order, Error> {
        self.call(Method::GET, &["orders", id], None::<&()>).await
    }

    /// `GET /api/v1/devices/<device_id>`.
    pub async fn device(&self, device_id: &str) -> Result<Device, Error> {
        self.call(Method::GET, &["devices", device_id], None::<&()>)
            .await
    }

    /// `/api/v1/<segments…>` under the server URL, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error> {
        let url = self.url(segments);
        tracing::debug!(%method, %url, "Hallmark API request");
        let mut request: RequestBuilder = self.http.request(method, url.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport_error(&url, e))?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let bytes = read_body(response)
            .await
            .map_err(|e| transport_error(&url, e))?;
        if !status.is_success() {
            return Err(refusal(status, retry_after, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|source| Error::BadResponse {
            url: url.to_string(),
            source,
        })
    }
}

pub(crate) fn parse_server_url(server: &str) -> Result<Url, Error> {
    let invalid = |reason| Error::InvalidUrl {
        url: server.to_string(),
        reason,
    };
    let url = Url::parse(server).map_err(|_| invalid("not a URL"))?;
    if url.scheme() != "https" {
        return Err(invalid("the Hallmark server speaks only https://"));
    }
    if url.host().is_none() || url.cannot_be_a_base() {
        return Err(invalid("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    Ok(url)
}

/// Reads at most [`MAX_BODY`] bytes of the answer.
async fn read_body(mut response: Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(body)
}

fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A non-2xx answer as [`Error::Refused`].
fn refusal(status: StatusCode, retry_after: Option<u64>, body: &[u8]) -> Error {
    let (reason, message) = match serde_json::from_slice::<Refusal>(body) {
        Ok(refusal) => (refusal.error, refusal.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(MAX_MESSAGE).collect();
            (format!("http_{}", status.as_u16()), text)
        }
    };
    Error::Refused {
        status: status.as_u16(),
        reason,
        message,
        retry_after,
    }
}

/// Sorts a transport failure into [`Error::Tls`], [`Error::Unreachable`]
/// or [`Error::Transport`].
fn transport_error(url: &Url, source: reqwest::Error) -> Error {
    let url = url.to_string();
    if let Some(tls) = rustls_cause(&source) {
        let reason = tls.to_string();
        return Error::Tls {
            url,
            reason,
            source,
        };
    }
    if source.is_connect() {
        Error::Unreachable { url, source }
    } else {
        Error::Transport { url, source }
    }
}

/// The `rustls::Error` behind a failure, if any. `io::Error::source` skips
/// the error it wraps, so wrapped errors are looked into explicitly.
fn rustls_cause<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| rustls_cause(inner))
        {
            return Some(inner);
        }
        next = err.source();
    }
    None
}
