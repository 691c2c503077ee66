//! Untrusted text (S3 keys, MLflow strings, file names, server error bodies) made safe for a
//! terminal: every character of Unicode's "Other" categories is escaped, which covers control
//! characters (ESC, BEL, newline), bidirectional overrides such as U+202E, zero-width characters
//! such as U+200B, and unassigned or private-use code points. The general category comes from the
//! Unicode tables of `unicode-properties`, not from a hand-kept list.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// `text` with every invisible or terminal-controlling character written as `\u{…}` (or `\n`,
/// `\t`, …), so it cannot move the cursor, recolour the screen or reorder what a person reads.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.general_category_group() == GeneralCategoryGroup::Other {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `limit` characters of `text`, made printable, with how much was left out: a server's
/// 100 KB error page is evidence, not something to scroll past.
pub fn excerpt(text: &str, limit: usize) -> String {
    let total = text.chars().count();
    if total <= limit {
        return printable(text);
    }
    let head: String = text.chars().take(limit).collect();
    format!("{}… ({} more characters)", printable(&head), total - limit)
}

/// A URL with the password of its user part masked (`http://ann:***@host`), for anything shown.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(printable("model.safetensors"), "model.safetensors");
        assert_eq!(printable("é 模型 🙂"), "é 模型 🙂");
        assert_eq!(
            printable("a\u{1b}]0;pwned\u{7}b"),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(printable("line\nbreak\t"), "line\\nbreak\\t");
        assert_eq!(printable("bom\u{feff}"), "bom\\u{feff}");
    }

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            without_password("http://ann:s3cret@mlflow:5000/path?x=1"),
            "http://ann:***@mlflow:5000/path?x=1"
        );
        assert_eq!(without_password("https://tok@host"), "https://tok:***@host");
        assert_eq!(without_password("http://host:5000"), "http://host:5000");
        assert_eq!(without_password("no scheme"), "no scheme");
        assert_eq!(without_password("http://host/a@b"), "http://host/a@b");
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        let body = "x".repeat(100_000);
        let cut = excerpt(&body, 300);
        assert!(cut.starts_with(&"x".repeat(300)));
        assert!(cut.ends_with("… (99700 more characters)"));
        assert_eq!(excerpt("short\u{7}", 300), "short\\u{7}");
    }
}
