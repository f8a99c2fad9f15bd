//! Checks shared by the test binaries: OpenSSL and pkilint verdicts on
//! certificates, and what a refused device request must leave unchanged.

use std::path::PathBuf;

use hallmark_authority::{AuthorityError, Clock, Issued, StationIdentity};
use hallmark_store::OrderRecord;
use hallmark_testkit::tools;

use super::{Fixture, PEER};

impl Fixture {
    /// Verifies `leaf` with OpenSSL (`-x509_strict`, `purpose`, at the
    /// fixture's time) against `chain` (intermediate first, root last), and
    /// lints it with pkilint.
    pub fn verify(&self, name: &str, leaf: &[u8], chain: &[Vec<u8>], purpose: &str) {
        self.openssl_verify(name, leaf, chain, purpose)
            .unwrap_or_else(|e| panic!("openssl verify {name}: {e}"));
        let leaf = self.dir.path().join(format!("{name}.pem"));
        tools::lint_certificate(&leaf).unwrap_or_else(|e| panic!("pkilint {name}: {e}"));
    }

    /// `openssl verify -x509_strict -purpose <purpose> -attime <clock>`:
    /// like [`tools::openssl_verify`], but at the fixture's time rather than
    /// the wall clock's (station certificates live a day from [`NOW`]).
    pub fn openssl_verify(
        &self,
        name: &str,
        leaf: &[u8],
        chain: &[Vec<u8>],
        purpose: &str,
    ) -> Result<(), String> {
        let dir = self.dir.path();
        let leaf = tools::write_cert_pem(dir, &format!("{name}.pem"), leaf);
        let (root, intermediates) = chain.split_last().unwrap();
        let root = tools::write_cert_pem(dir, &format!("{name}-root.pem"), root);
        let untrusted: Vec<PathBuf> = intermediates
            .iter()
            .enumerate()
            .map(|(i, der)| tools::write_cert_pem(dir, &format!("{name}-ca{i}.pem"), der))
            .collect();
        let at = self.clock.now().to_string();
        let mut cmd = tools::openssl();
        cmd.args([
            "verify",
            "-x509_strict",
            "-attime",
            &at,
            "-purpose",
            purpose,
        ]);
        cmd.args(["-CAfile", tools::path_str(&root)]);
        for u in &untrusted {
            cmd.args(["-untrusted", tools::path_str(u)]);
        }
        let out = cmd.arg(tools::path_str(&leaf)).output().unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && printed.contains(": OK") {
            Ok(())
        } else {
            Err(printed)
        }
    }
}

/// What a refused device request must leave unchanged.
pub struct Before {
    pub audit: usize,
    pub order: OrderRecord,
    pub issued: u64,
}

impl Before {
    pub async fn take(f: &Fixture, order_id: &str) -> Self {
        Self {
            audit: f.audit().await.len(),
            order: f.authority.order(order_id).await.unwrap(),
            issued: f.store.count_issued(None).await.unwrap(),
        }
    }

    /// `outcome` is a refusal for `reason`, logged once (from [`PEER`]),
    /// counted against the station's order, and nothing else changed.
    pub async fn refused(
        &self,
        f: &Fixture,
        station: &StationIdentity,
        outcome: Result<Issued, AuthorityError>,
        reason: &str,
    ) -> AuthorityError {
        let err = outcome.expect_err(reason);
        assert_eq!(err.refusal_reason(), Some(reason), "{err}");
        let events = f.audit().await;
        assert_eq!(events.len(), self.audit + 1, "one event for {reason}");
        let event = events.last().unwrap();
        assert_eq!(event.kind, "request.refused");
        assert_eq!(event.data["reason"], reason);
        assert_eq!(event.data["order"], station.order_id.as_str());
        assert_eq!(event.data["station"], station.station_id.as_str());
        assert_eq!(event.data["peer"], PEER);
        let mut expected = self.order.clone();
        expected.refused += 1;
        let order = f.authority.order(&station.order_id).await.unwrap();
        assert_eq!(order, expected, "only the refusal counter moved");
        assert_eq!(f.store.count_issued(None).await.unwrap(), self.issued);
        err
    }
}
