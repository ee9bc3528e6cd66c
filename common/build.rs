//! Compiles `proto/` with protox (pure Rust), so building needs no protoc.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../proto";
    let file = "../proto/omswatch/v1/omswatch.proto";
    println!("cargo:rerun-if-changed={proto_dir}");
    let descriptors = protox::compile([file], [proto_dir])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
