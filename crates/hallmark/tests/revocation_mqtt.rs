//! A real IoT endpoint: Mosquitto with a TLS listener on a free loopback
//! port that requires client certificates chained to Hallmark (`cafile` =
//! issuing CA + root) and checks the CRL served at `/crl/<ca>.crl`
//! (`crlfile`, PEM). A provisioned device publishes; after `hallmark
//! revoke` and a CRL refresh (file rewritten, SIGHUP) the same device is
//! refused while another still gets in; a certificate from another CA is
//! refused throughout. The clients are `mosquitto_pub` (QoS 1, so success
//! means the broker acknowledged the message).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;
mod revocation_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hallmark_testkit::tools::path_str;
use revocation_support::{Setup, crl_pem, fetch_crl, foreign, revoke, run};

/// The broker binary: on PATH or in /usr/sbin (Debian puts it there).
fn mosquitto() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("mosquitto"))
        .find(|p| p.is_file());
    let sbin = Path::new("/usr/sbin/mosquitto");
    on_path
        .or_else(|| sbin.is_file().then(|| sbin.to_path_buf()))
        .expect(
            "mosquitto is missing: apt-get install mosquitto (scripts/install-test-deps does this)",
        )
}

/// A Mosquitto broker started by this test; stopped when dropped.
struct Broker {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Broker {
    /// Writes the configuration into a directory the broker can read
    /// (started as root it drops to user `mosquitto`) and waits until it listens.
    fn start(chain: &Path, cert: &Path, key: &Path, crl: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hallmark-mqtt")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for (name, from) in [
            ("chain.pem", chain),
            ("broker.pem", cert),
            ("broker.key", key),
        ] {
            install(&dir.path().join(name), &std::fs::read(from).unwrap());
        }
        install(&dir.path().join("crl.pem"), &std::fs::read(crl).unwrap());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let p = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\ncrlfile {}\n\
             require_certificate true\nuse_identity_as_username true\nallow_anonymous false\n\
             persistence false\nlog_dest stderr\n",
            p("chain.pem"),
            p("broker.pem"),
            p("broker.key"),
            p("crl.pem"),
        );
        install(&dir.path().join("mosquitto.conf"), config.as_bytes());
        let log = std::fs::File::create(dir.path().join("broker.log")).unwrap();
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut broker = Broker { child, port, dir };
        for _ in 0..100 {
            if let Some(status) = broker.child.try_wait().unwrap() {
                panic!("mosquitto exited ({status}):\n{}", broker.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mosquitto does not listen on {port}:\n{}", broker.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Replaces the CRL and has the broker reload it (SIGHUP).
    fn reload_crl(&self, crl: &Path) {
        let fresh = self.dir.path().join("crl.pem.new");
        install(&fresh, &std::fs::read(crl).unwrap());
        std::fs::rename(&fresh, self.dir.path().join("crl.pem")).unwrap();
        let pid = self.child.id().to_string();
        let (ok, out) = run(Command::new("kill").args(["-HUP", &pid]));
        assert!(ok, "kill -HUP {pid}: {out}");
    }

    /// `mosquitto_pub` at QoS 1 with a client certificate: (acknowledged, output).
    fn publish(&self, broker_ca: &Path, cert: &Path, key: &Path) -> (bool, String) {
        let port = self.port.to_string();
        let mut cmd = Command::new("timeout");
        cmd.args(["20", "mosquitto_pub", "-h", "127.0.0.1", "-p", &port])
            .args(["--cafile", path_str(broker_ca), "--cert", path_str(cert)])
            .args([
                "--key",
                path_str(key),
                "-t",
                "hallmark/test",
                "-m",
                "hi",
                "-q",
                "1",
            ]);
        let out = cmd.output().expect("timeout (coreutils) runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.code() != Some(127),
            "mosquitto_pub is missing: apt-get install mosquitto-clients\n{text}"
        );
        (out.status.success(), text)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a file the broker (possibly another user) can read.
fn install(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn mosquitto_refuses_a_revoked_device_after_a_crl_refresh() {
    let s = Setup::new();
    let (a_key, a) = s.device("ACME-MQTT-A");
    let (b_key, b) = s.device("ACME-MQTT-B");
    let dir = s.cli.dir.path();
    // The broker's own certificate and a client certificate from a CA
    // that is not Hallmark's.
    let (broker_ca, broker_key, broker_cert) = foreign(dir, "broker", true);
    let (_, stranger_key, stranger) = foreign(dir, "stranger", false);

    let crl = crl_pem(dir, "before", &fetch_crl(&s, "berlin"));
    let broker = Broker::start(&s.chain, &broker_cert, &broker_key, &crl);

    let (ok, out) = broker.publish(&broker_ca, &a, &a_key);
    assert!(ok, "device A must get in:\n{out}\n{}", broker.log());
    let (ok, out) = broker.publish(&broker_ca, &stranger, &stranger_key);
    assert!(!ok, "another CA's certificate got in:\n{out}");

    let printed = revoke(
        &s.cli,
        &["--device", "ACME-MQTT-A", "--reason", "keyCompromise"],
    );
    assert!(printed.contains("revoked 1 certificate(s)"), "{printed}");
    let crl = crl_pem(dir, "after", &fetch_crl(&s, "berlin"));
    broker.reload_crl(&crl);

    // The broker reloads asynchronously: retry briefly (bounded).
    let mut refused = None;
    for _ in 0..40 {
        let (ok, out) = broker.publish(&broker_ca, &a, &a_key);
        if !ok {
            refused = Some(out);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let out =
        refused.unwrap_or_else(|| panic!("revoked device A still gets in:\n{}", broker.log()));
    assert!(!out.is_empty());
    assert!(
        broker.log().contains("certificate verify failed"),
        "{}",
        broker.log()
    );
    let (ok, out) = broker.publish(&broker_ca, &b, &b_key);
    assert!(
        ok,
        "device B (not revoked) must still get in:\n{out}\n{}",
        broker.log()
    );
    let (ok, out) = broker.publish(&broker_ca, &stranger, &stranger_key);
    assert!(!ok, "another CA's certificate got in:\n{out}");
}
