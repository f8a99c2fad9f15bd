//! Renewal: when a station certificate is due, and renewing it.

use std::time::Duration;

use super::{STATION_PEM, StationHome, check_leaf};
use crate::Error;
use crate::api::StationEnrollment;

impl StationHome {
    /// Whether the certificate has less than `margin` left at `now` (unix
    /// seconds); `margin` defaults to a third of its lifetime.
    ///
    /// # Errors
    ///
    /// [`Error::NotEnrolled`].
    pub fn renewal_due(&self, margin: Option<Duration>, now: i64) -> Result<bool, Error> {
        let leaf = check_leaf(
            self.chain_or_not_enrolled()?,
            self.signer.as_ref(),
            STATION_PEM,
        )?;
        let lifetime = leaf.not_after.saturating_sub(leaf.not_before);
        let margin = margin.map_or(lifetime / 3, |m| {
            i64::try_from(m.as_secs()).unwrap_or(i64::MAX)
        });
        Ok(leaf.not_after.saturating_sub(now) < margin)
    }

    /// Renews (`POST /api/v1/stations/renew`, a CSR from the same key) when
    /// [`Self::renewal_due`] says so now, and saves the new certificate.
    /// Returns the renewal, or `None` when not due.
    ///
    /// # Errors
    ///
    /// As [`Self::renewal_due`], [`crate::StationClient::renew`] and [`Self::save_certificate`].
    pub async fn renew_if_due(
        &mut self,
        margin: Option<Duration>,
    ) -> Result<Option<StationEnrollment>, Error> {
        if !self.renewal_due(margin, now())? {
            return Ok(None);
        }
        let csr = self.csr_pem()?;
        let renewed = self.client()?.renew(&csr).await?;
        self.save_certificate(&renewed)?;
        tracing::info!(not_after = renewed.not_after, "station certificate renewed");
        Ok(Some(renewed))
    }

    fn chain_or_not_enrolled(&self) -> Result<&[Vec<u8>], Error> {
        self.chain.as_deref().ok_or_else(|| Error::NotEnrolled {
            path: self.dir.clone(),
        })
    }
}

/// The current time, unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
