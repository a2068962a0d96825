//! Reading a database whose disk refuses writes (full, or turned read-only) after a failed
//! commit. redb must repair such a file when it opens it, and a repair writes; this backend
//! keeps those writes in memory, over the untouched file, so the last committed state can be
//! served read-only until the disk takes writes again.

use std::collections::HashMap;
use std::sync::Mutex;

use redb::StorageBackend;
use redb::backends::FileBackend;

/// Granularity of the in-memory copy of written bytes.
const PAGE: u64 = 4096;

#[derive(Debug)]
pub struct Overlay {
    file: FileBackend,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    len: u64,
    /// page number → its bytes as last written here.
    pages: HashMap<u64, Box<[u8]>>,
}

impl Overlay {
    pub fn new(file: FileBackend) -> std::io::Result<Self> {
        let len = file.len()?;
        Ok(Self {
            file,
            state: Mutex::new(State {
                len,
                pages: HashMap::new(),
            }),
        })
    }

    /// The current bytes of page `n` (from memory, else the file, zeros past its end).
    fn page(&self, state: &State, n: u64) -> std::io::Result<Box<[u8]>> {
        if let Some(page) = state.pages.get(&n) {
            return Ok(page.clone());
        }
        let mut page = vec![0u8; PAGE as usize].into_boxed_slice();
        let file_len = self.file.len()?;
        let start = n * PAGE;
        if start < file_len {
            let end = (start + PAGE).min(file_len);
            self.file.read(start, &mut page[..(end - start) as usize])?;
        }
        Ok(page)
    }
}

impl StorageBackend for Overlay {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.state.lock().unwrap_or_else(|e| e.into_inner()).len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if offset + out.len() as u64 > state.len {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        }
        let mut done = 0usize;
        while done < out.len() {
            let at = offset + done as u64;
            let (n, within) = (at / PAGE, (at % PAGE) as usize);
            let take = (PAGE as usize - within).min(out.len() - done);
            if let Some(page) = state.pages.get(&n) {
                out[done..done + take].copy_from_slice(&page[within..within + take]);
            } else {
                let page = self.page(&state, n)?;
                out[done..done + take].copy_from_slice(&page[within..within + take]);
            }
            done += take;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if len < state.len {
            // Bytes past the new end read as zeros if the file grows again.
            let first_gone = len.div_ceil(PAGE);
            state.pages.retain(|&n, _| n < first_gone);
            let n = len / PAGE;
            if !len.is_multiple_of(PAGE) {
                let mut page = self.page(&state, n)?;
                page[(len % PAGE) as usize..].fill(0);
                state.pages.insert(n, page);
            }
        }
        state.len = len;
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0usize;
        while done < data.len() {
            let at = offset + done as u64;
            let (n, within) = (at / PAGE, (at % PAGE) as usize);
            let take = (PAGE as usize - within).min(data.len() - done);
            let mut page = self.page(&state, n)?;
            page[within..within + take].copy_from_slice(&data[done..done + take]);
            state.pages.insert(n, page);
            done += take;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stay_in_memory_and_read_back_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let original: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &original).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let overlay = Overlay::new(FileBackend::new(file).unwrap()).unwrap();

        // A write across a page boundary, and growth past the end of the file.
        overlay.write(4000, &[7; 200]).unwrap();
        overlay.set_len(12_000).unwrap();
        overlay.write(11_000, &[9; 10]).unwrap();
        let mut seen = vec![0u8; 12_000];
        overlay.read(0, &mut seen).unwrap();
        let mut expected = original.clone();
        expected[4000..4200].fill(7);
        expected.resize(12_000, 0);
        expected[11_000..11_010].fill(9);
        assert_eq!(seen, expected);
        assert!(overlay.read(11_990, &mut [0; 20]).is_err(), "past the end");
        // The file itself is untouched.
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }
}
