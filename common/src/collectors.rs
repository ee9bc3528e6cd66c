//! The list of collector URLs that the agent's and the CLI's `--collector` accept:
//! repeat the flag or comma-separate (`OMSWATCH_COLLECTOR=https://a:9470,https://b:9470`),
//! for a pair of collectors sharing one store. One parser, so both read a list alike.

/// Why a `--collector` list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlListError {
    /// Nothing but blanks and commas.
    #[error(
        "--collector is empty: give a URL such as https://10.0.0.5:9470 (repeat the flag or comma-separate for a pair)"
    )]
    Empty,
    /// The same URL twice: a second stream to one collector would only double its load.
    #[error("--collector {0} is given twice: each collector of a pair once")]
    Repeated(String),
}

/// The URLs of `given` (each value of a repeated flag, each possibly a comma-separated
/// list), trimmed, blanks dropped, in the order given: the first is asked first.
pub fn parse_list<S: AsRef<str>>(given: &[S]) -> Result<Vec<String>, UrlListError> {
    let mut urls: Vec<String> = Vec::new();
    for url in given
        .iter()
        .flat_map(|value| value.as_ref().split(','))
        .map(str::trim)
        .filter(|url| !url.is_empty())
    {
        // A trailing slash names the same collector.
        let same = |known: &String| known.trim_end_matches('/') == url.trim_end_matches('/');
        if urls.iter().any(same) {
            return Err(UrlListError::Repeated(url.to_string()));
        }
        urls.push(url.to_string());
    }
    if urls.is_empty() {
        return Err(UrlListError::Empty);
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_flags_and_commas_make_one_list_in_order() {
        let given = ["https://a:9470, https://b:9470", "https://c:9470"];
        assert_eq!(
            parse_list(&given).expect("list"),
            ["https://a:9470", "https://b:9470", "https://c:9470"]
        );
        assert_eq!(
            parse_list(&["https://a:9470"]).expect("one"),
            ["https://a:9470"]
        );
        assert_eq!(
            parse_list(&["https://a:9470,", " ,https://b:9470"]).expect("blanks"),
            ["https://a:9470", "https://b:9470"]
        );
    }

    #[test]
    fn empty_and_repeated_lists_are_refused() {
        assert_eq!(parse_list::<&str>(&[]), Err(UrlListError::Empty));
        assert_eq!(parse_list(&[" , "]), Err(UrlListError::Empty));
        assert_eq!(
            parse_list(&["https://a:9470", "https://a:9470/"]),
            Err(UrlListError::Repeated("https://a:9470/".into()))
        );
    }
}
