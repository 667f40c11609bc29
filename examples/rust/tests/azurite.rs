//! Runs against Azurite through tests/capi/with_azurite.py (ctest sets DP_CAPI_* and DATAPORT_LIBRARY).
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run through ctest (tests/capi/with_azurite.py)"))
}

fn fnv1a(data: &[u8]) -> String {
    format!("{:016x}", data.iter().fold(14695981039346656037u64, |h, b| (h ^ *b as u64).wrapping_mul(1099511628211)))
}

#[test]
fn reads_the_blob_exactly() {
    let ctx = dataport::Context::new(Some(r#"{"io_threads": 2}"#)).unwrap();
    let mut reader = ctx.open(&env("DP_CAPI_BLOB")).unwrap();
    assert_eq!(reader.size().unwrap().to_string(), env("DP_CAPI_BLOB_SIZE"));
    let mut data = Vec::new();
    reader.read_to_end(&mut data).unwrap();
    assert_eq!(fnv1a(&data), env("DP_CAPI_BLOB_FNV1A"));
    reader.seek(SeekFrom::End(-3)).unwrap();
    let mut tail = Vec::new();
    reader.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, &data[data.len() - 3..]);
    let mut buf = [0u8; 8];
    assert_eq!(reader.read_at(10_000_000, &mut buf).unwrap(), 0, "past EOF reads 0 bytes");
}

#[test]
fn lists_stats_and_reports_errors() {
    let ctx = dataport::Context::new(None).unwrap();
    let entries: Vec<String> = ctx.list(&env("DP_CAPI_FOLDER"), true).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().any(|e| e.contains("\"name\":\"sub/inner.txt\"")));
    assert!(ctx.stat(&env("DP_CAPI_BLOB")).unwrap().contains(&format!("\"size\":{}", env("DP_CAPI_BLOB_SIZE"))));
    let missing = ctx.stat(&format!("{}/missing", env("DP_CAPI_FOLDER"))).unwrap_err();
    assert_eq!(missing.code, dataport::Error::NOT_FOUND);
    assert_eq!(missing.name(), "not_found");
    let bad = dataport::Context::new(Some(r#"{"NOT_A_SETTING": 1}"#)).err().unwrap();
    assert_eq!(bad.code, dataport::Error::INVALID_ARGUMENT);
    assert!(bad.message.contains("NOT_A_SETTING"), "{}", bad.message);
    assert!(ctx.metrics().unwrap().contains("\"requests\""));
}

#[test]
fn copy_with_progress_and_cancel() {
    let ctx = dataport::Context::new(None).unwrap();
    let dir = std::env::temp_dir().join(format!("dataport-rust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut calls = 0;
    let summary = ctx.copy(&env("DP_CAPI_BLOB"), dir.join("data.bin").to_str().unwrap(), "{}", |_| { calls += 1; true }).unwrap();
    assert!(summary.contains("\"files_done\":1"), "{summary}");
    assert!(calls >= 1);
    assert_eq!(fnv1a(&std::fs::read(dir.join("data.bin")).unwrap()), env("DP_CAPI_BLOB_FNV1A"));
    let cancelled = ctx.copy(&env("DP_CAPI_FOLDER"), dir.join("c").to_str().unwrap(), r#"{"recursive":true,"progress_interval_ms":0}"#, |_| false).unwrap_err();
    assert_eq!(cancelled.code, dataport::Error::CANCELLED);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shared_reader_across_threads() {
    let ctx = Arc::new(dataport::Context::new(None).unwrap());
    let reader = Arc::new(ctx.open(&env("DP_CAPI_BLOB")).unwrap());
    let mut whole = vec![0u8; reader.size().unwrap() as usize];
    assert_eq!(reader.read_at(0, &mut whole).unwrap(), whole.len());
    let handles: Vec<_> = (0..6u64).map(|i| {
        let (reader, whole) = (Arc::clone(&reader), whole.clone());
        std::thread::spawn(move || {
            for j in 0..20u64 {
                let offset = (i * 7919 + j * 104_729) % (whole.len() as u64 - 500);
                let mut buf = [0u8; 500];
                assert_eq!(reader.read_at(offset, &mut buf).unwrap(), 500);
                assert_eq!(&buf[..], &whole[offset as usize..offset as usize + 500]);
            }
        })
    }).collect();
    for h in handles {
        h.join().unwrap();
    }
}
