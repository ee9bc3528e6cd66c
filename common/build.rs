//! Compiles `proto/` with protox (pure Rust), so building needs no protoc.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../proto";
    let file = "../proto/omswatch/v1/omswatch.proto";
    println!("cargo:rerun-if-changed={proto_dir}");
    let descriptors = protox::compile([file], [proto_dir])?;
    // Serialize: `omswatch-agent --once` prints its report as JSON, field names as in the proto.
    tonic_prost_build::configure()
        .message_attribute(".omswatch.v1", "#[derive(serde::Serialize)]")
        .compile_fds(descriptors)?;
    Ok(())
}
