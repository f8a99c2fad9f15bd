//! Who is calling: the TLS client certificate, checked against the store,
//! and the per-station rate limit. Every refusal here is audit-logged.

use std::time::Instant;

use hallmark_authority::{AuthorityError, RequestContext, StationIdentity};

use super::AppState;
use super::status::ApiError;
use crate::listen::{PeerCertificates, RemoteAddr};

/// The connection facts a handler gets from the listener.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) certificates: PeerCertificates,
    pub(crate) addr: RemoteAddr,
}

impl Caller {
    /// The presented end-entity certificate, if any.
    pub(crate) fn leaf(&self) -> Option<&[u8]> {
        self.certificates
            .0
            .as_ref()
            .and_then(|chain| chain.first())
            .map(|c| c.as_ref())
    }

    /// An audit context naming only the peer address.
    pub(crate) fn context(&self) -> RequestContext {
        RequestContext {
            peer: Some(self.addr.0.to_string()),
            ..RequestContext::default()
        }
    }

    /// An audit context for an authenticated station.
    pub(crate) fn station_context(&self, station: &StationIdentity) -> RequestContext {
        RequestContext {
            station_id: Some(station.station_id.clone()),
            order_id: Some(station.order_id.clone()),
            ..self.context()
        }
    }
}

impl AppState {
    /// Audit-logs a refusal decided by the server and returns it.
    pub(crate) async fn refuse(&self, err: ApiError, context: &RequestContext) -> ApiError {
        let Some(reason) = err.reason() else {
            return err;
        };
        match self
            .authority
            .record_refusal(reason, &err.message(), context)
            .await
        {
            Ok(()) => err,
            // A refusal that cannot be logged is reported as the failure.
            Err(audit) => ApiError::Authority(audit),
        }
    }

    /// Passes an authority result through, audit-logging a refusal.
    pub(crate) async fn audited<T>(
        &self,
        outcome: Result<T, AuthorityError>,
        context: &RequestContext,
    ) -> Result<T, ApiError> {
        match outcome {
            Ok(value) => Ok(value),
            Err(err) => Err(self.refuse(ApiError::Authority(err), context).await),
        }
    }

    /// The authenticated station behind the request.
    pub(crate) async fn station(&self, caller: &Caller) -> Result<StationIdentity, ApiError> {
        let Some(leaf) = caller.leaf() else {
            return Err(self
                .refuse(ApiError::ClientCertificateRequired, &caller.context())
                .await);
        };
        let outcome = self.authority.authenticate_station(leaf).await;
        self.audited(outcome, &caller.context()).await
    }

    /// The authenticated station, also charged one token of its rate.
    pub(crate) async fn rate_limited_station(
        &self,
        caller: &Caller,
    ) -> Result<StationIdentity, ApiError> {
        let station = self.station(caller).await?;
        if let Err(retry) = self.limiter.check(&station.station_id, Instant::now()) {
            let context = caller.station_context(&station);
            return Err(self.refuse(ApiError::RateLimited(retry), &context).await);
        }
        Ok(station)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let certificates = parts
            .extensions
            .get::<PeerCertificates>()
            .cloned()
            .unwrap_or_default();
        let addr = parts
            .extensions
            .get::<RemoteAddr>()
            .copied()
            .unwrap_or(RemoteAddr(std::net::SocketAddr::from(([0, 0, 0, 0], 0))));
        Ok(Caller { certificates, addr })
    }
}
