//! Builds the C entry point to the Synthesis ToolKit (src/data/stk/shim.cpp) and links Debian's
//! libstk, when the `stk` feature is on.

fn main() {
    println!("cargo:rerun-if-changed=src/data/stk/shim.cpp");
    if std::env::var_os("CARGO_FEATURE_STK").is_none() {
        return;
    }
    cc::Build::new()
        .cpp(true)
        .file("src/data/stk/shim.cpp")
        .flag_if_supported("-std=c++14")
        // libstk-dev's headers live under stk/ and include their siblings by bare name.
        .include("/usr/include/stk")
        .warnings(false)
        .compile("timbrescope_stk");
    println!("cargo:rustc-link-lib=stk");
}
