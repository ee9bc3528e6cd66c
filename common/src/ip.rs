//! IP address normalisation, so `10.0.0.1`, ` 10.0.0.1 ` and `::ffff:10.0.0.1`
//! compare equal wherever omswatch matches reports, cm_nodes and MetaDB rows.

use std::net::IpAddr;

/// The canonical text of an IP address, or the trimmed input when it is not one
/// (MetaDB rows are not validated by OMS; a bad value must still be shown as seen).
pub fn normalize(raw: &str) -> String {
    let trimmed = raw.trim();
    match trimmed.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        Ok(ip) => ip.to_string(),
        Err(_) => trimmed.to_string(),
    }
}

/// Whether `raw` parses as an IPv4 or IPv6 address.
pub fn is_ip(raw: &str) -> bool {
    raw.trim().parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_spacing_and_mapped_v6() {
        assert_eq!(normalize(" 10.0.0.1 "), "10.0.0.1");
        assert_eq!(normalize("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(normalize("fe80:0::1"), "fe80::1");
        assert_eq!(normalize("not-an-ip"), "not-an-ip");
        assert!(is_ip("10.1.2.3") && !is_ip("10.1.2"));
    }
}
