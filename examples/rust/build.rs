// Links libdataport_c.so. DATAPORT_LIBRARY (the .so path, as ctest sets it) or DATAPORT_LIB_DIR
// names where it is; an rpath is added so tests and examples run without LD_LIBRARY_PATH.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DATAPORT_LIBRARY");
    println!("cargo:rerun-if-env-changed=DATAPORT_LIB_DIR");
    let dir = std::env::var("DATAPORT_LIB_DIR").ok().or_else(|| {
        std::env::var("DATAPORT_LIBRARY")
            .ok()
            .and_then(|p| Path::new(&p).parent().map(|d| d.display().to_string()))
    });
    if let Some(dir) = dir {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-link-lib=dylib=dataport_c");
}
