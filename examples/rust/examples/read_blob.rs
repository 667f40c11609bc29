//! Reads a blob through dataport and prints its size and FNV-1a hash.
//!     cargo run --offline --example read_blob -- URI
use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args().nth(1).ok_or("usage: read_blob URI")?;
    let ctx = dataport::Context::new(None)?;
    let mut reader = ctx.open(&uri)?;
    let mut data = Vec::new();
    reader.read_to_end(&mut data)?;
    let hash = data.iter().fold(14695981039346656037u64, |h, b| (h ^ *b as u64).wrapping_mul(1099511628211));
    println!("size: {}\nfnv1a: {:016x}", data.len(), hash);
    Ok(())
}
