//! numpy .npz archives: f32 and i32 arrays and 0-d unicode strings written so `numpy.load` reads
//! them as they are, and read back with every array's dtype and shape checked.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use npyz::WriterBuilder as _;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Writes the entries of one .npz, each compressed.
pub struct NpzWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
}

fn entry_options(raw_bytes: u64) -> SimpleFileOptions {
    // Zip64 only where needed (the margin covers the .npy header): it costs nothing numpy can't read.
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(raw_bytes + 4096 >= zip::ZIP64_BYTES_THR)
}

impl<W: Write + Seek> NpzWriter<W> {
    pub fn new(out: W) -> Self {
        Self { zip: ZipWriter::new(out) }
    }

    /// A float32 array `name` of `shape`, C order.
    pub fn f32(&mut self, name: &str, shape: &[u64], values: impl IntoIterator<Item = f32>) -> io::Result<()> {
        self.zip.start_file(format!("{name}.npy"), entry_options(4 * shape.iter().product::<u64>()))?;
        let mut writer =
            npyz::WriteOptions::<f32>::new().default_dtype().shape(shape).writer(&mut self.zip).begin_nd()?;
        writer.extend(values)?;
        writer.finish()
    }

    /// An int32 array `name` of `shape`, C order.
    pub fn i32(&mut self, name: &str, shape: &[u64], values: impl IntoIterator<Item = i32>) -> io::Result<()> {
        self.zip.start_file(format!("{name}.npy"), entry_options(4 * shape.iter().product::<u64>()))?;
        let mut writer =
            npyz::WriteOptions::<i32>::new().default_dtype().shape(shape).writer(&mut self.zip).begin_nd()?;
        writer.extend(values)?;
        writer.finish()
    }

    /// A 0-d unicode string `name` (numpy's '<U', four bytes a code point).
    pub fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        let dtype: npyz::TypeStr = format!("<U{}", text.chars().count()).parse().map_err(io::Error::other)?;
        self.zip.start_file(format!("{name}.npy"), entry_options(4 * text.len() as u64))?;
        let mut writer = npyz::WriteOptions::<str>::new()
            .dtype(npyz::DType::Plain(dtype))
            .shape(&[])
            .writer(&mut self.zip)
            .begin_nd()?;
        writer.push(text)?;
        writer.finish()
    }

    pub fn finish(self) -> io::Result<()> {
        self.zip.finish()?;
        Ok(())
    }
}

/// What is wrong with one array of an archive.
#[derive(Debug)]
pub struct ArrayProblem {
    pub array: &'static str,
    pub message: String,
}

/// Reads the entries of one .npz by name.
pub struct NpzReader<R: Read + Seek> {
    zip: ZipArchive<R>,
}

impl NpzReader<BufReader<File>> {
    /// Opens `path`; the error says why it is not a readable .npz.
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let zip = ZipArchive::new(BufReader::new(file)).map_err(|e| format!("not a readable .npz: {e}"))?;
        Ok(Self { zip })
    }
}

impl<R: Read + Seek> NpzReader<R> {
    /// The entry `name`.npy, its header read and its shape checked against `expected` (None:
    /// any length).
    fn open_npy(
        &mut self,
        name: &'static str,
        expected: &[Option<u64>],
    ) -> Result<npyz::NpyFile<zip::read::ZipFile<'_, R>>, ArrayProblem> {
        let fail = |message: String| ArrayProblem { array: name, message };
        let entry =
            self.zip.by_name(&format!("{name}.npy")).map_err(|e| fail(format!("missing or unreadable: {e}")))?;
        let npy = npyz::NpyFile::new(entry).map_err(|e| fail(format!("not a valid .npy: {e}")))?;
        let shape = npy.shape();
        let fits = shape.len() == expected.len() && shape.iter().zip(expected).all(|(s, e)| e.is_none_or(|e| e == *s));
        if !fits {
            let want: Vec<String> = expected.iter().map(|e| e.map_or("_".into(), |e| e.to_string())).collect();
            return Err(fail(format!("shape {shape:?}, expected [{}]", want.join(", "))));
        }
        if npy.order() == npyz::Order::Fortran && shape.len() > 1 {
            return Err(fail("stored in Fortran order; this reader expects C order".into()));
        }
        Ok(npy)
    }

    /// A 4-byte array's shape and, when `data`, its values, its dtype checked to be `kind`.
    fn read4<T: npyz::Deserialize>(
        &mut self,
        name: &'static str,
        expected: &[Option<u64>],
        kind: npyz::TypeChar,
        data: bool,
    ) -> Result<(Vec<u64>, Vec<T>), ArrayProblem> {
        let fail = |message: String| ArrayProblem { array: name, message };
        let npy = self.open_npy(name, expected)?;
        let fits = matches!(npy.dtype(), npyz::DType::Plain(t) if t.type_char() == kind && t.num_bytes() == Some(4));
        if !fits {
            let want = if kind == npyz::TypeChar::Float { "float32" } else { "int32" };
            return Err(fail(format!("dtype {}, expected {want}", npy.dtype().descr())));
        }
        let shape = npy.shape().to_vec();
        let values =
            if data { npy.into_vec::<T>().map_err(|e| fail(format!("unreadable data: {e}")))? } else { vec![] };
        Ok((shape, values))
    }

    /// A float32 array's shape and, when `data`, its values.
    pub fn f32(
        &mut self,
        name: &'static str,
        expected: &[Option<u64>],
        data: bool,
    ) -> Result<(Vec<u64>, Vec<f32>), ArrayProblem> {
        self.read4(name, expected, npyz::TypeChar::Float, data)
    }

    /// An int32 array's shape and values.
    pub fn i32(&mut self, name: &'static str, expected: &[Option<u64>]) -> Result<(Vec<u64>, Vec<i32>), ArrayProblem> {
        self.read4(name, expected, npyz::TypeChar::Int, true)
    }

    /// A 0-d unicode string.
    pub fn text(&mut self, name: &'static str) -> Result<String, ArrayProblem> {
        let npy = self.open_npy(name, &[])?;
        let mut values = npy
            .into_vec::<String>()
            .map_err(|e| ArrayProblem { array: name, message: format!("not a unicode string: {e}") })?;
        Ok(values.remove(0))
    }
}
