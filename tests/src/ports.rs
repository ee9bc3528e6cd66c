//! Free TCP ports for servers the harness starts.
//!
//! The port is found by binding port 0 and closing the socket, so another process may take it
//! before our server binds it; servers that can fail that way (`mariadbd`) retry with a new port.

use std::net::{Ipv4Addr, TcpListener};

use anyhow::Context;

/// A TCP port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
    Ok(listener
        .local_addr()
        .context("reading the bound address")?
        .port())
}
