//! [`FileStorage`]: the device's NVS as one file per record in a directory.
//!
//! A write is atomic and durable: the bytes go to a temporary file, which
//! is fsynced and renamed over the record, then the directory is fsynced.
//! After a crash a record holds its old bytes or its new ones.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use hallmark_device::{DeviceError, Storage};

/// [`Storage`] in a directory: record `NAME` is the file `DIR/NAME`.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// Storage in `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// The directory cannot be created.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, DeviceError> {
        let valid = !name.is_empty()
            && name.len() <= 15
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(DeviceError::Storage("invalid record name"));
        }
        Ok(self.dir.join(name))
    }

    fn sync_dir(&self) -> Result<(), DeviceError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|_| DeviceError::Storage("cannot sync the state directory"))
    }
}

/// Writes `data` to `path` atomically and durably (temporary file, fsync,
/// rename; the caller syncs the directory).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.write_all(data)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

impl Storage for FileStorage {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        match fs::read(self.path(name)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(_) => Err(DeviceError::Storage("cannot read a record")),
        }
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), DeviceError> {
        write_atomic(&self.path(name)?, data)
            .map_err(|_| DeviceError::Storage("cannot write a record"))?;
        self.sync_dir()
    }

    fn erase(&mut self, name: &str) -> Result<(), DeviceError> {
        match fs::remove_file(self.path(name)?) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(_) => Err(DeviceError::Storage("cannot erase a record")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_persist_and_erase() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStorage::open(dir.path()).unwrap();
        assert_eq!(s.read("hm_prov").unwrap(), None);
        s.write("hm_prov", b"one").unwrap();
        s.write("hm_prov", b"two").unwrap();
        let mut again = FileStorage::open(dir.path()).unwrap();
        assert_eq!(again.read("hm_prov").unwrap().as_deref(), Some(&b"two"[..]));
        again.erase("hm_prov").unwrap();
        again.erase("hm_prov").unwrap();
        assert_eq!(s.read("hm_prov").unwrap(), None);
        assert!(s.write("../x", b"no").is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "no temporary file left behind");
    }
}
