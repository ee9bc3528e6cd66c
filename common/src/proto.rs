//! Generated gRPC code for `proto/omswatch/v1/omswatch.proto`.
#![allow(missing_docs, clippy::all)]

/// Version 1 of the omswatch protocol.
pub mod v1 {
    tonic::include_proto!("omswatch.v1");
}

/// The encoded `FileDescriptorSet` of `proto/` (every omswatch service and message), compiled by
/// `build.rs`: what the collector's gRPC server reflection describes to `grpcurl` and the like.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/omswatch_descriptor.bin"));

/// Largest answer a client of the Query service accepts (tonic's default of 4 MiB is less
/// than the status of a 10,000-node cluster, ~6 MB): the CLI and every other client of the
/// collector set it with `max_decoding_message_size`.
pub const MAX_ANSWER_BYTES: usize = 256 << 20;
