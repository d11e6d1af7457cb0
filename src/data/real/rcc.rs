//! Qt's compiled resource files (`.rcc`): the files an application carries inside one blob, as
//! GCompris carries its instrument recordings. Layout (qtbase `rcc.cpp`): a header, a tree of
//! fixed-size entries, names as UTF-16, and each file's bytes, zlib- or zstd-compressed or plain.

use std::io::Read as _;

#[derive(Debug, thiserror::Error)]
pub enum RccError {
    #[error("not a Qt resource file: {0}")]
    Format(String),
    #[error("resource {name}: {problem}")]
    Entry { name: String, problem: String },
}

/// One file inside a resource file, with its path from the root (e.g. `/a/b/c.ogg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RccFile {
    pub path: String,
    pub data: Vec<u8>,
}

const DIRECTORY: u16 = 0x02;
const ZLIB: u16 = 0x01;
const ZSTD: u16 = 0x04;
/// A file's uncompressed size is refused above this: no resource of this kind is near it.
const MAX_FILE_BYTES: usize = 256 << 20;

struct Reader<'a> {
    bytes: &'a [u8],
    tree: usize,
    data: usize,
    names: usize,
    entry_len: usize,
}

impl Reader<'_> {
    fn slice(&self, at: usize, len: usize) -> Result<&[u8], RccError> {
        at.checked_add(len).and_then(|end| self.bytes.get(at..end)).ok_or_else(|| {
            RccError::Format(format!("offset {at} (+{len}) lies past the end ({} bytes)", self.bytes.len()))
        })
    }

    fn u16(&self, at: usize) -> Result<u16, RccError> {
        let b = self.slice(at, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Result<u32, RccError> {
        let b = self.slice(at, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&self, offset: u32) -> Result<String, RccError> {
        let at = self.names + offset as usize;
        let len = self.u16(at)? as usize;
        // After the length, a 4-byte hash, then the UTF-16BE characters.
        let raw = self.slice(at + 6, 2 * len)?;
        let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| RccError::Format(format!("name at {offset} is not UTF-16")))
    }

    fn walk(&self, index: u32, prefix: &str, depth: usize, out: &mut Vec<RccFile>) -> Result<(), RccError> {
        if depth > 64 {
            return Err(RccError::Format("directories nest deeper than 64 levels".into()));
        }
        let at = self.tree + index as usize * self.entry_len;
        let flags = self.u16(at + 4)?;
        let name = if index == 0 { String::new() } else { self.name(self.u32(at)?)? };
        let path = format!("{prefix}{name}");
        if flags & DIRECTORY != 0 {
            let (count, first) = (self.u32(at + 6)?, self.u32(at + 10)?);
            if first <= index {
                return Err(RccError::Format(format!("directory {path:?} points back into the tree")));
            }
            for child in 0..count {
                self.walk(first + child, &format!("{path}/"), depth + 1, out)?;
            }
            return Ok(());
        }
        let entry = |problem: String| RccError::Entry { name: path.clone(), problem };
        let offset = self.data + self.u32(at + 10)? as usize;
        let len = self.u32(offset)? as usize;
        let stored = self.slice(offset + 4, len)?;
        let data = if flags & ZLIB != 0 {
            // qCompress: a 4-byte big-endian uncompressed size, then a zlib stream.
            let size = stored.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
            let size = size.ok_or_else(|| entry("compressed data shorter than its header".into()))?;
            if size > MAX_FILE_BYTES {
                return Err(entry(format!("claims {size} bytes uncompressed")));
            }
            let mut data = Vec::with_capacity(size);
            flate2::read::ZlibDecoder::new(&stored[4..])
                .take(MAX_FILE_BYTES as u64)
                .read_to_end(&mut data)
                .map_err(|e| entry(format!("zlib: {e}")))?;
            data
        } else if flags & ZSTD != 0 {
            zstd::bulk::decompress(stored, MAX_FILE_BYTES).map_err(|e| entry(format!("zstd: {e}")))?
        } else {
            stored.to_vec()
        };
        out.push(RccFile { path, data });
        Ok(())
    }
}

/// Every file of a resource file, directories flattened into paths.
pub fn read_rcc(bytes: &[u8]) -> Result<Vec<RccFile>, RccError> {
    if bytes.get(..4) != Some(b"qres") {
        return Err(RccError::Format("it does not start with \"qres\"".into()));
    }
    let mut r = Reader { bytes, tree: 0, data: 0, names: 0, entry_len: 14 };
    let version = r.u32(4)?;
    r.tree = r.u32(8)? as usize;
    r.data = r.u32(12)? as usize;
    r.names = r.u32(16)? as usize;
    // Format 1 entries are 14 bytes; from 2 on they carry an 8-byte modification time.
    r.entry_len = match version {
        1 => 14,
        2 | 3 => 22,
        v => return Err(RccError::Format(format!("format version {v} is not 1, 2 or 3"))),
    };
    let mut out = Vec::new();
    r.walk(0, "", 0, &mut out)?;
    Ok(out)
}

/// Writes a resource file of format 2 holding `files` (path, bytes, zlib-compressed?) flat in
/// one root directory: what the tests read back.
pub fn write_rcc(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut names = Vec::new();
    let mut name_offsets = Vec::new();
    for (name, _, _) in files {
        name_offsets.push(names.len() as u32);
        let units: Vec<u16> = name.encode_utf16().collect();
        names.extend_from_slice(&(units.len() as u16).to_be_bytes());
        names.extend_from_slice(&0u32.to_be_bytes());
        units.iter().for_each(|u| names.extend_from_slice(&u.to_be_bytes()));
    }
    let mut data = Vec::new();
    let mut data_offsets = Vec::new();
    for (_, bytes, compress) in files {
        data_offsets.push(data.len() as u32);
        let stored = if *compress {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut z, bytes).expect("writing to memory");
            let mut s = (bytes.len() as u32).to_be_bytes().to_vec();
            s.extend(z.finish().expect("writing to memory"));
            s
        } else {
            bytes.to_vec()
        };
        data.extend_from_slice(&(stored.len() as u32).to_be_bytes());
        data.extend(stored);
    }
    let mut tree = Vec::new();
    // The root: a directory of every file, its children from entry 1.
    tree.extend_from_slice(&0u32.to_be_bytes());
    tree.extend_from_slice(&DIRECTORY.to_be_bytes());
    tree.extend_from_slice(&(files.len() as u32).to_be_bytes());
    tree.extend_from_slice(&1u32.to_be_bytes());
    tree.extend_from_slice(&[0; 8]);
    for (i, (_, _, compress)) in files.iter().enumerate() {
        tree.extend_from_slice(&name_offsets[i].to_be_bytes());
        tree.extend_from_slice(&(if *compress { ZLIB } else { 0 }).to_be_bytes());
        tree.extend_from_slice(&[0; 4]);
        tree.extend_from_slice(&data_offsets[i].to_be_bytes());
        tree.extend_from_slice(&[0; 8]);
    }
    let header = 20;
    let (tree_at, data_at) = (header, header + tree.len());
    let names_at = data_at + data.len();
    let mut out = b"qres".to_vec();
    for v in [2u32, tree_at as u32, data_at as u32, names_at as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend(tree);
    out.extend(data);
    out.extend(names);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_written_plain_and_compressed_read_back_with_their_paths() {
        let a: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let bytes = write_rcc(&[("a.ogg", &a, true), ("b.txt", b"plain", false)]);
        let files = read_rcc(&bytes).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], RccFile { path: "/a.ogg".into(), data: a });
        assert_eq!(files[1], RccFile { path: "/b.txt".into(), data: b"plain".to_vec() });
    }

    #[test]
    fn damaged_files_are_refused_by_what_is_wrong() {
        assert!(matches!(read_rcc(b"RIFF...."), Err(RccError::Format(_))));
        let bytes = write_rcc(&[("a.ogg", b"0123456789", true)]);
        for cut in [10, 30, bytes.len() - 3] {
            assert!(read_rcc(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        // The file's compressed bytes turned to rubbish: the zlib stream is named.
        let at = 20 + 44 + 4 + 4;
        bad[at..at + 4].copy_from_slice(b"XXXX");
        let err = read_rcc(&bad).unwrap_err().to_string();
        assert!(err.contains("/a.ogg") && err.contains("zlib"), "{err}");
    }
}
