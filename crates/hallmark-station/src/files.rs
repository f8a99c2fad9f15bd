//! File helpers for the station home: PEM certificate bundles and atomic writes.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use hallmark_pki::CertificateView;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::Error;

/// The DER certificates of a PEM bundle, in order; each must parse as X.509.
/// `what` names the input in errors.
pub(crate) fn pem_certificates(pem: &[u8], what: &str) -> Result<Vec<Vec<u8>>, Error> {
    let bad = |reason: String| Error::BadCertificate {
        what: what.to_string(),
        reason,
    };
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let der = cert.map_err(|e| bad(format!("not PEM certificates ({e})")))?;
        CertificateView::parse(&der).map_err(|e| bad(e.to_string()))?;
        certs.push(der.to_vec());
    }
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE in it".into()));
    }
    Ok(certs)
}

/// An I/O error on `path`.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Fails with [`Error::HomeExists`] unless `dir` is missing or an empty directory.
pub(crate) fn ensure_empty_or_missing(dir: &Path) -> Result<(), Error> {
    match fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(Error::HomeExists {
                path: dir.to_owned(),
            }),
        },
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) if err.kind() == ErrorKind::NotADirectory => Err(Error::HomeExists {
            path: dir.to_owned(),
        }),
        Err(err) => Err(io_error(dir)(err)),
    }
}

/// Replaces `path` with `contents` atomically: a temporary file in the same
/// directory, written, given `mode`, fsynced, renamed over `path`; then the
/// directory is fsynced. Readers see the old file or the new one, never a
/// mixture.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = write_then_rename(&tmp, path, contents, mode);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn write_then_rename(tmp: &Path, path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(tmp)
        .map_err(io_error(tmp))?;
    file.set_permissions(Permissions::from_mode(mode))
        .and_then(|()| file.write_all(contents))
        .and_then(|()| file.sync_all())
        .map_err(io_error(tmp))?;
    fs::rename(tmp, path).map_err(io_error(path))
}
