//! Database names from config.yaml end up inside SQL text (identifiers cannot be
//! bound as parameters), so they are validated here once and only ever used quoted.

use std::fmt;

/// A validated MySQL database name: 1–64 characters of `[A-Za-z0-9_$]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DbName(String);

impl DbName {
    /// Validates `raw`; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.len() > 64 {
            return Err(format!("is {} characters long; MySQL allows 64", raw.len()));
        }
        match raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$'))
        {
            Some(bad) => Err(format!(
                "contains {bad:?}; a database name may only hold letters, digits, '_' and '$'"
            )),
            None => Ok(Self(raw.to_string())),
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted for SQL: safe because validation forbids backticks.
    pub fn quoted(&self) -> String {
        format!("`{}`", self.0)
    }
}

impl fmt::Display for DbName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::DbName;

    #[test]
    fn accepts_oms_names_and_rejects_sql() {
        assert_eq!(
            DbName::parse("oms_cm_heartbeat_0").map(|d| d.quoted()),
            Ok("`oms_cm_heartbeat_0`".into())
        );
        for bad in [
            "",
            "oms`; DROP TABLE host; --",
            "a b",
            "oms-cm",
            "x".repeat(65).as_str(),
            "db.table",
        ] {
            assert!(DbName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
