//! Generated gRPC code for `proto/omswatch/v1/omswatch.proto`.
#![allow(missing_docs, clippy::all)]

/// Version 1 of the omswatch protocol.
pub mod v1 {
    tonic::include_proto!("omswatch.v1");
}
