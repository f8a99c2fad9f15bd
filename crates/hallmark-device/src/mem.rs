//! [`MemStorage`]: records in memory, with fault injection, for tests and
//! the simulator.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::DeviceError;
use crate::traits::Storage;

/// [`Storage`] in a `BTreeMap`. Clone it to snapshot a device's flash;
/// lend it (`&mut MemStorage` is a [`Storage`] too) to recreate a device on
/// the same records, as after a reboot.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    records: BTreeMap<String, Vec<u8>>,
    /// Successful writes/erases left before every write/erase fails.
    writes_left: Option<u32>,
    fail_reads: bool,
    writes: u32,
}

impl MemStorage {
    /// Empty storage that never fails.
    pub fn new() -> Self {
        Self::default()
    }

    /// After `n` more successful writes or erases, every write and erase
    /// fails with [`DeviceError::Storage`] (`None`: never fail again).
    pub fn fail_after_writes(&mut self, n: Option<u32>) {
        self.writes_left = n;
    }

    /// Makes every read fail (or succeed again).
    pub fn fail_reads(&mut self, fail: bool) {
        self.fail_reads = fail;
    }

    /// Successful writes and erases so far.
    pub fn writes(&self) -> u32 {
        self.writes
    }

    /// A record's bytes, if present.
    pub fn record(&self, name: &str) -> Option<&[u8]> {
        self.records.get(name).map(Vec::as_slice)
    }

    /// The names of the records present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.records.keys().map(String::as_str)
    }

    /// Sets a record directly (e.g. to corrupt it in a test).
    pub fn insert(&mut self, name: &str, data: &[u8]) {
        self.records.insert(name.to_string(), data.to_vec());
    }

    fn spend_write(&mut self) -> Result<(), DeviceError> {
        match &mut self.writes_left {
            Some(0) => return Err(DeviceError::Storage("injected write failure")),
            Some(n) => *n -= 1,
            None => {}
        }
        self.writes += 1;
        Ok(())
    }
}

impl Storage for MemStorage {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        if self.fail_reads {
            return Err(DeviceError::Storage("injected read failure"));
        }
        Ok(self.records.get(name).cloned())
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), DeviceError> {
        self.spend_write()?;
        self.records.insert(name.to_string(), data.to_vec());
        Ok(())
    }

    fn erase(&mut self, name: &str) -> Result<(), DeviceError> {
        self.spend_write()?;
        self.records.remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_faults() {
        let mut s = MemStorage::new();
        s.write("a", b"1").unwrap();
        assert_eq!(s.read("a").unwrap().as_deref(), Some(&b"1"[..]));
        s.fail_after_writes(Some(1));
        s.write("b", b"2").unwrap();
        assert!(s.write("c", b"3").is_err());
        assert!(s.erase("a").is_err());
        assert_eq!(s.names().collect::<Vec<_>>(), ["a", "b"]);
        s.fail_after_writes(None);
        s.erase("a").unwrap();
        s.fail_reads(true);
        assert!(s.read("b").is_err());
        assert_eq!(s.writes(), 3);
    }
}
