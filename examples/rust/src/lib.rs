//! Safe Rust access to dataport through its C ABI (libdataport_c.so).
//!
//! `Context` owns a runtime (dropped = threads joined), `Reader` reads one file version at any
//! offset (`Send + Sync`: reads may run in parallel), `List` iterates a folder lazily. JSON
//! results are returned as `String`s (this crate has no dependencies; parse them with your JSON
//! library). Errors carry the pinned status code and the library's (redacted) message.
pub mod ffi;

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

/// A failed call: `code` is a DATAPORT_E_* status (see dataport.h), `message` the explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

impl Error {
    pub const INVALID_ARGUMENT: i32 = 1;
    pub const NOT_FOUND: i32 = 2;
    pub const CANCELLED: i32 = 12;

    /// Short stable name of the code ("not_found").
    pub fn name(&self) -> String {
        unsafe { CStr::from_ptr(ffi::dataport_status_name(self.code)) }.to_string_lossy().into_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: ffi::dataport_status) -> Result<()> {
    if status == 0 {
        return Ok(());
    }
    let message = unsafe { CStr::from_ptr(ffi::dataport_last_error()) }.to_string_lossy().into_owned();
    Err(Error { code: status, message })
}

fn c_string(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error { code: Error::INVALID_ARGUMENT, message: format!("{text:?} contains a NUL byte") })
}

/// Takes ownership of a library string (freed here).
unsafe fn take_string(text: *mut c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
    ffi::dataport_free_string(text);
    Some(owned)
}

/// The library's version ("0.1.0").
pub fn version() -> String {
    unsafe { CStr::from_ptr(ffi::dataport_version()) }.to_string_lossy().into_owned()
}

/// A dataport runtime. Thread-safe: share it with `Arc<Context>`.
pub struct Context {
    raw: *mut ffi::dataport_context,
}

unsafe impl Send for Context {}
unsafe impl Sync for Context {}

/// Progress of a copy (bytes written to the destination so far, files known and done).
pub type Progress = ffi::dataport_progress;

impl Context {
    /// `options_json`: settings by environment-variable name, "workspace", "io_threads".
    pub fn new(options_json: Option<&str>) -> Result<Context> {
        let options = options_json.map(c_string).transpose()?;
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::dataport_context_create(options.as_ref().map_or(ptr::null(), |o| o.as_ptr()), &mut raw) })?;
        Ok(Context { raw })
    }

    fn json_call(&self, f: unsafe extern "C" fn(*mut ffi::dataport_context, *const c_char, *mut *mut c_char) -> ffi::dataport_status, uri: &str) -> Result<String> {
        let uri = c_string(uri)?;
        let mut out = ptr::null_mut();
        check(unsafe { f(self.raw, uri.as_ptr(), &mut out) })?;
        Ok(unsafe { take_string(out) }.unwrap_or_default())
    }

    /// The resolved location of `uri` as JSON.
    pub fn resolve(&self, uri: &str) -> Result<String> {
        self.json_call(ffi::dataport_resolve, uri)
    }

    /// Size, ETag, kind of `uri` as JSON.
    pub fn stat(&self, uri: &str) -> Result<String> {
        self.json_call(ffi::dataport_stat, uri)
    }

    /// Counters and latency percentiles as JSON.
    pub fn metrics(&self) -> Result<String> {
        let mut out = ptr::null_mut();
        check(unsafe { ffi::dataport_metrics(self.raw, &mut out) })?;
        Ok(unsafe { take_string(out) }.unwrap_or_default())
    }

    /// Lists a folder lazily; each item is one entry as JSON.
    pub fn list(&self, uri: &str, recursive: bool) -> Result<List> {
        let uri = c_string(uri)?;
        let options = c_string(if recursive { "{\"recursive\":true}" } else { "{}" })?;
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::dataport_list_open(self.raw, uri.as_ptr(), options.as_ptr(), &mut raw) })?;
        Ok(List { raw, done: false })
    }

    /// Opens a file for reads at any offset.
    pub fn open(&self, uri: &str) -> Result<Reader> {
        let uri = c_string(uri)?;
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::dataport_reader_open(self.raw, uri.as_ptr(), &mut raw) })?;
        Ok(Reader { raw, position: 0 })
    }

    /// Copies `source` to `destination`; `progress` returns false to cancel. Returns the summary
    /// JSON; on failure the error (the summary is then dropped).
    pub fn copy(&self, source: &str, destination: &str, options_json: &str,
                mut progress: impl FnMut(&Progress) -> bool) -> Result<String> {
        unsafe extern "C" fn trampoline<F: FnMut(&Progress) -> bool>(p: *const Progress, user: *mut c_void) -> c_int {
            let f = &mut *(user as *mut F);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&*p))) {
                Ok(true) => 0,
                _ => 1,
            }
        }
        fn callback_for<F: FnMut(&Progress) -> bool>(_: &F) -> ffi::dataport_progress_fn {
            Some(trampoline::<F>)
        }
        let (source, destination, options) = (c_string(source)?, c_string(destination)?, c_string(options_json)?);
        let mut out = ptr::null_mut();
        let status = unsafe {
            ffi::dataport_copy(self.raw, source.as_ptr(), destination.as_ptr(), options.as_ptr(),
                               callback_for(&progress), &mut progress as *mut _ as *mut c_void, &mut out)
        };
        let result = check(status);
        let summary = unsafe { take_string(out) };
        result.map(|_| summary.unwrap_or_default())
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        unsafe { ffi::dataport_context_destroy(self.raw) }
    }
}

/// A folder listing; iterate it for entries (JSON strings). Stops after the first error.
pub struct List {
    raw: *mut ffi::dataport_list,
    done: bool,
}

unsafe impl Send for List {}

impl Iterator for List {
    type Item = Result<String>;
    fn next(&mut self) -> Option<Result<String>> {
        if self.done {
            return None;
        }
        let mut out = ptr::null_mut();
        if let Err(e) = check(unsafe { ffi::dataport_list_next(self.raw, &mut out) }) {
            self.done = true;
            return Some(Err(e));
        }
        let entry = unsafe { take_string(out) };
        self.done = entry.is_none();
        entry.map(Ok)
    }
}

impl Drop for List {
    fn drop(&mut self) {
        unsafe { ffi::dataport_list_close(self.raw) }
    }
}

/// One version of a remote file. `read_at` is safe from several threads; `std::io::Read` and
/// `Seek` use a cursor.
pub struct Reader {
    raw: *mut ffi::dataport_reader,
    position: u64,
}

unsafe impl Send for Reader {}
unsafe impl Sync for Reader {}

impl Reader {
    pub fn size(&self) -> Result<u64> {
        let mut size = 0u64;
        check(unsafe { ffi::dataport_reader_size(self.raw, &mut size) })?;
        Ok(size)
    }

    /// Reads into `buffer` at `offset`; returns the count (0 at or past the end).
    pub fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let mut got = 0usize;
        check(unsafe { ffi::dataport_reader_read_at(self.raw, offset, buffer.as_mut_ptr() as *mut c_void, buffer.len(), &mut got) })?;
        Ok(got)
    }
}

impl std::io::Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_at(self.position, buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::Other, e))?;
        self.position += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Reader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let size = self.size().map_err(|e| std::io::Error::new(std::io::ErrorKind::Other, e))? as i128;
        let target = match pos {
            std::io::SeekFrom::Start(n) => n as i128,
            std::io::SeekFrom::Current(n) => self.position as i128 + n as i128,
            std::io::SeekFrom::End(n) => size + n as i128,
        };
        if target < 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "negative seek position"));
        }
        self.position = target as u64;
        Ok(self.position)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        unsafe { ffi::dataport_reader_close(self.raw) }
    }
}
