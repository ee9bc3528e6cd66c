//! Compiles `proto/` with protox (pure Rust), so building needs no protoc. Also writes the
//! encoded file descriptor set, which the collector serves through gRPC server reflection.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../proto";
    let file = "../proto/omswatch/v1/omswatch.proto";
    println!("cargo:rerun-if-changed={proto_dir}");
    let descriptors = protox::compile([file], [proto_dir])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("omswatch_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    // Serialize: `omswatch-agent --once` prints its report as JSON, field names as in the proto.
    tonic_prost_build::configure()
        .message_attribute(".omswatch.v1", "#[derive(serde::Serialize)]")
        .compile_fds(descriptors)?;
    Ok(())
}
