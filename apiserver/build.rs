//! Link the `ferrokube` binary as a position-dependent executable: a PIE of
//! this size carries about 2 MB of dynamic relocations, which the loader
//! applies at every start, dirtying that much memory for nothing.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
