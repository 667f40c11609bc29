//! Raw declarations of capi/include/dataport.h. Prefer the safe wrappers in the crate root.
#![allow(non_camel_case_types)]
use std::os::raw::{c_char, c_int, c_void};

pub type dataport_status = c_int;
#[repr(C)]
pub struct dataport_context {
    _private: [u8; 0],
}
#[repr(C)]
pub struct dataport_list {
    _private: [u8; 0],
}
#[repr(C)]
pub struct dataport_reader {
    _private: [u8; 0],
}
#[repr(C)]
pub struct dataport_mount_session {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct dataport_progress {
    pub files_known: u64,
    pub files_done: u64,
    pub files_failed: u64,
    pub files_skipped: u64,
    pub bytes_known: u64,
    pub bytes_done: u64,
    pub elapsed_ms: u64,
    pub listing_done: c_int,
}

pub type dataport_progress_fn =
    Option<unsafe extern "C" fn(progress: *const dataport_progress, user_data: *mut c_void) -> c_int>;

extern "C" {
    pub fn dataport_version() -> *const c_char;
    pub fn dataport_last_error() -> *const c_char;
    pub fn dataport_status_name(status: dataport_status) -> *const c_char;
    pub fn dataport_free_string(text: *mut c_char);
    pub fn dataport_context_create(options_json: *const c_char, out: *mut *mut dataport_context) -> dataport_status;
    pub fn dataport_context_destroy(context: *mut dataport_context);
    pub fn dataport_resolve(context: *mut dataport_context, uri: *const c_char, out_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_stat(context: *mut dataport_context, uri: *const c_char, out_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_list_open(context: *mut dataport_context, uri: *const c_char, options_json: *const c_char, out: *mut *mut dataport_list) -> dataport_status;
    pub fn dataport_list_next(list: *mut dataport_list, out_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_list_close(list: *mut dataport_list);
    pub fn dataport_reader_open(context: *mut dataport_context, uri: *const c_char, out: *mut *mut dataport_reader) -> dataport_status;
    pub fn dataport_reader_read_at(reader: *mut dataport_reader, offset: u64, buffer: *mut c_void, length: usize, out_read: *mut usize) -> dataport_status;
    pub fn dataport_reader_size(reader: *mut dataport_reader, out_size: *mut u64) -> dataport_status;
    pub fn dataport_reader_close(reader: *mut dataport_reader);
    pub fn dataport_reader_shutdown(reader: *mut dataport_reader);
    pub fn dataport_copy(context: *mut dataport_context, source: *const c_char, destination: *const c_char, options_json: *const c_char, progress: dataport_progress_fn, user_data: *mut c_void, out_summary_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_metrics(context: *mut dataport_context, out_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_mount(context: *mut dataport_context, uri: *const c_char, mountpoint: *const c_char, options_json: *const c_char, out: *mut *mut dataport_mount_session) -> dataport_status;
    pub fn dataport_unmount(session: *mut dataport_mount_session) -> dataport_status;
    pub fn dataport_mount_wait(session: *mut dataport_mount_session, out_pending_json: *mut *mut c_char) -> dataport_status;
    pub fn dataport_mount_is_mounted(session: *const dataport_mount_session) -> c_int;
    pub fn dataport_mount_free(session: *mut dataport_mount_session);
}
