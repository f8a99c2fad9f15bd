//! OCSP: requests made by `openssl ocsp`, responses judged by `openssl ocsp`
//! (through the full chain without `-issuer`, and with `-VAfile`) and by
//! pkilint (`lint_ocsp_response`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Hierarchy, now, ossl, ossl_ok, pkilint};
use hallmark_revocation::{
    CertStatus, HashAlgorithm, IssuerHashes, Nonce, OcspRequest, OcspResponseStatus, Reason,
    Responder, RevocationError, SingleResponse, build_response, build_single_response,
    error_response, parse_request,
};

const REVOKED_SERIAL: &str = "8899aabbccddeeff0011223344556677";

struct Setup {
    h: Hierarchy,
    hashes: IssuerHashes,
    responder: Responder,
}

fn setup() -> Setup {
    let h = Hierarchy::new();
    let hashes = IssuerHashes::for_issuer(&h.issuing_der).unwrap();
    let responder = Responder::new(h.responder_der.clone(), h.responder_signer.clone()).unwrap();
    Setup {
        h,
        hashes,
        responder,
    }
}

impl Setup {
    /// `openssl ocsp <opts> -issuer issuing.pem -cert leaf -reqout <name>.req`
    /// (`opts`: `-nonce`, `-no_nonce`, a digest — digests go before `-cert`);
    /// returns the request's path and its parse.
    fn request(&self, leaf: &str, name: &str, opts: &str) -> (String, OcspRequest) {
        let (issuing, req) = (self.h.p("issuing.pem"), self.h.p(&format!("{name}.req")));
        ossl_ok(&format!(
            "ocsp {opts} -issuer {issuing} -cert {leaf} -reqout {req}"
        ));
        let parsed = parse_request(&std::fs::read(&req).unwrap()).unwrap();
        (req, parsed)
    }

    fn single(&self, request: &OcspRequest, status: CertStatus) -> SingleResponse {
        assert_eq!(request.cert_ids.len(), 1);
        assert!(
            self.hashes.matches(&request.cert_ids[0]),
            "CertID names another CA"
        );
        SingleResponse {
            cert_id: request.cert_ids[0].clone(),
            status,
            this_update: now() - 60,
            next_update: now() + 3600,
        }
    }

    /// `openssl ocsp -respin resp -resp_text <trust> <query>`.
    fn check(&self, resp: &str, trust: &str, query: &str) -> (bool, String) {
        ossl(&format!("ocsp -respin {resp} -resp_text {trust} {query}"))
    }

    /// Trust the root only; the issuing CA is just an untrusted intermediate.
    /// No `-issuer`: with it OpenSSL retries trusting the issuer as responder,
    /// which would hide a broken responder chain.
    fn strict(&self) -> String {
        format!(
            "-CAfile {} -verify_other {}",
            self.h.p("root.pem"),
            self.h.p("issuing.pem")
        )
    }

    /// The response verifies and says `expect` about `leaf`:
    /// 1. through responder → issuing CA → root, with `-reqin` so OpenSSL
    ///    compares the request's nonce with the response's;
    /// 2. the status line for `leaf`, through the chain and with `-VAfile`.
    ///    `-cert` builds a fresh request, so it goes with `-no_nonce` here.
    ///
    /// Returns the text of step 1.
    fn assert_verified(
        &self,
        resp: &str,
        leaf: &str,
        req: &str,
        digest: &str,
        expect: &str,
    ) -> String {
        let (ok, text) = self.check(resp, &self.strict(), &format!("-reqin {req}"));
        assert!(
            ok && text.contains("Response verify OK"),
            "strict chain:\n{text}"
        );
        assert!(
            !text.contains("WARNING") && !text.contains("error"),
            "{text}"
        );
        assert!(
            text.contains(&format!("Cert Status: {expect}")),
            "want {expect}:\n{text}"
        );

        let issuing = self.h.p("issuing.pem");
        let query = format!("-no_nonce {digest} -issuer {issuing} -cert {leaf}");
        let va = format!(
            "-CAfile {} -VAfile {}",
            self.h.p("root.pem"),
            self.h.p("responder.pem")
        );
        for trust in [self.strict(), va] {
            let (ok, out) = self.check(resp, &trust, &query);
            assert!(ok && out.contains("Response verify OK"), "{trust}:\n{out}");
            assert!(
                out.contains(&format!("{leaf}: {expect}")),
                "{trust}: want {expect}:\n{out}"
            );
            assert!(
                !out.contains("WARNING") && !out.contains("error"),
                "{trust}:\n{out}"
            );
        }
        pkilint("lint_ocsp_response", &[], resp);
        text
    }
}

#[test]
fn good_revoked_and_unknown_verify_with_openssl() {
    let s = setup();
    let revoked = CertStatus::Revoked {
        at: now() - 7200,
        reason: Some(Reason::KeyCompromise),
    };
    let cases = [
        ("good", "0x2001", CertStatus::Good),
        ("revoked", "0x8899aabbccddeeff0011223344556677", revoked),
        ("unknown", "0x2003", CertStatus::Unknown),
    ];
    for (name, serial, status) in cases {
        let leaf = s.h.leaf(name, serial);
        let (req, request) = s.request(&leaf, name, "-nonce");
        assert_eq!(
            hex::encode(&request.cert_ids[0].serial),
            serial.trim_start_matches("0x")
        );
        assert_eq!(request.cert_ids[0].hash_algorithm, HashAlgorithm::Sha1);
        let nonce = request.nonce.clone().expect("openssl -nonce sends a nonce");
        assert_eq!(nonce.value().len(), 16);
        let single = s.single(&request, status);
        let der = build_response(&s.responder, &[single], now(), request.nonce.as_ref()).unwrap();
        let resp = s.h.write(&format!("{name}.resp"), &der);
        let text = s.assert_verified(&resp, &leaf, &req, "-sha1", name);
        // Echoed: OpenSSL compared it (no "Nonce Verify error") and prints it.
        assert!(text.contains(&hex::encode_upper(nonce.value())), "{text}");
        assert!(text.contains("Responder Id: "), "{text}");
        if name == "revoked" {
            assert!(text.contains("Reason: keyCompromise"), "{text}");
        }
    }
}

#[test]
fn sha256_cert_ids_and_cached_single_responses() {
    let s = setup();
    let leaf = s.h.leaf("revoked", &format!("0x{REVOKED_SERIAL}"));
    let (req, request) = s.request(&leaf, "sha256", "-sha256 -no_nonce");
    assert!(request.nonce.is_none());
    assert_eq!(request.cert_ids[0].hash_algorithm, HashAlgorithm::Sha256);
    // The cache key gives the same CertID without a request.
    let serial = hex::decode(REVOKED_SERIAL).unwrap();
    let cached_id = s.hashes.cert_id(HashAlgorithm::Sha256, &serial).unwrap();
    assert_eq!(cached_id, request.cert_ids[0]);
    let at = now() - 86_400;
    let mut single = s.single(
        &request,
        CertStatus::Revoked {
            at,
            reason: Some(Reason::Superseded),
        },
    );
    single.cert_id = cached_id;
    let der = build_single_response(&s.responder, &single, now()).unwrap();
    let resp = s.h.write("cached.resp", &der);
    let text = s.assert_verified(&resp, &leaf, &req, "-sha256", "revoked");
    assert!(text.contains("Reason: superseded"), "{text}");
    assert!(!text.contains("OCSP Nonce"), "{text}");
}

#[test]
fn openssl_notices_missing_or_wrong_nonces_and_foreign_roots() {
    let s = setup();
    let leaf = s.h.leaf("good", "0x2001");
    let (req, request) = s.request(&leaf, "good", "-nonce");
    let single = s.single(&request, CertStatus::Good);
    let reqin = format!("-reqin {req}");

    let missing = build_single_response(&s.responder, &single, now()).unwrap();
    let missing = s.h.write("missing.resp", &missing);
    let (_, out) = s.check(&missing, &s.strict(), &reqin);
    assert!(out.contains("WARNING: no nonce in response"), "{out}");

    let other = Nonce::new(&[1; 16]).unwrap();
    let wrong = build_response(
        &s.responder,
        std::slice::from_ref(&single),
        now(),
        Some(&other),
    )
    .unwrap();
    let wrong = s.h.write("wrong.resp", &wrong);
    let (ok, out) = s.check(&wrong, &s.strict(), &reqin);
    assert!(!ok && out.contains("Nonce Verify error"), "{out}");

    // Under an unrelated root the responder's chain does not verify.
    let good = build_response(&s.responder, &[single], now(), request.nonce.as_ref()).unwrap();
    let good = s.h.write("good.resp", &good);
    let (key, cnf, stranger) = (
        s.h.p("good.key"),
        s.h.p("openssl.cnf"),
        s.h.p("stranger.pem"),
    );
    ossl_ok(&format!(
        "req -x509 -new -key {key} -subj /CN=Stranger -days 1 -config {cnf} \
         -extensions root_ext -out {stranger}"
    ));
    let trust = format!("-CAfile {stranger} -verify_other {}", s.h.p("issuing.pem"));
    let (ok, out) = s.check(&good, &trust, &reqin);
    assert!(!ok && out.contains("Response Verify Failure"), "{out}");
}

#[test]
fn requests_for_another_issuer_do_not_match() {
    let s = setup();
    // The issuing CA's own certificate, asked of the root.
    let (root, issuing, req) = (s.h.p("root.pem"), s.h.p("issuing.pem"), s.h.p("ca.req"));
    ossl_ok(&format!(
        "ocsp -issuer {root} -cert {issuing} -reqout {req}"
    ));
    let request = parse_request(&std::fs::read(req).unwrap()).unwrap();
    assert!(!s.hashes.matches(&request.cert_ids[0]));
    let root_der = s.h.p("root.der");
    ossl_ok(&format!("x509 -in {root} -outform DER -out {root_der}"));
    let root_hashes = IssuerHashes::for_issuer(&std::fs::read(root_der).unwrap()).unwrap();
    assert!(root_hashes.matches(&request.cert_ids[0]));
}

#[test]
fn error_responses_parse_with_openssl() {
    let s = setup();
    for (status, text) in [
        (OcspResponseStatus::MalformedRequest, "malformedrequest (1)"),
        (OcspResponseStatus::InternalError, "internalerror (2)"),
        (OcspResponseStatus::TryLater, "trylater (3)"),
        (OcspResponseStatus::SigRequired, "sigrequired (5)"),
        (OcspResponseStatus::Unauthorized, "unauthorized (6)"),
    ] {
        let path = s.h.write("error.resp", &error_response(status));
        let (_, out) = ossl(&format!("ocsp -respin {path} -resp_text -noverify"));
        assert!(
            out.contains(&format!("Responder Error: {text}")),
            "{status:?}:\n{out}"
        );
    }
    let err = parse_request(b"\x30\x03\x02\x01\x00").unwrap_err();
    assert_eq!(err.ocsp_status(), OcspResponseStatus::MalformedRequest);
}

#[test]
fn responder_must_be_an_ocsp_signer_holding_its_key() {
    let s = setup();
    assert!(matches!(
        Responder::new(s.h.responder_der.clone(), s.h.issuing_signer.clone()),
        Err(RevocationError::KeyMismatch(_))
    ));
    assert!(matches!(
        Responder::new(s.h.issuing_der.clone(), s.h.issuing_signer.clone()),
        Err(RevocationError::NotOcspSigner)
    ));
    assert!(matches!(
        build_response(&s.responder, &[], now(), None),
        Err(RevocationError::NoResponses)
    ));
    assert_eq!(s.responder.certificate_der(), s.h.responder_der);
}
