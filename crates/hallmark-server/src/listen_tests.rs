use super::*;

#[test]
fn peer_certificates_accessors() {
    let none = PeerCertificates::default();
    assert!(none.end_entity().is_none());
    assert!(none.chain().is_empty());
    let chain = vec![CertificateDer::from(vec![1]), CertificateDer::from(vec![2])];
    let some = PeerCertificates(Some(Arc::new(chain)));
    assert_eq!(
        some.end_entity().map(|c| c.as_ref().to_vec()),
        Some(vec![1])
    );
    assert_eq!(some.chain().len(), 2);
}
