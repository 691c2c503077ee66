//! The one rule for untrusted relative paths (S3 keys below a listed prefix, manifest entries):
//! `/`-separated plain names only. It refuses `..`, `.`, absolute paths, empty segments,
//! backslashes and control characters (NUL included), so a path built from it is always inside
//! the folder it is joined to.

/// Why `relative` is not a plain relative path, or `None` when it is one.
pub fn problem(relative: &str) -> Option<&'static str> {
    if relative.is_empty() {
        return Some("it is empty");
    }
    if relative.starts_with('/') {
        return Some("it is an absolute path");
    }
    if relative.chars().any(char::is_control) {
        return Some("it contains a control character");
    }
    if relative.contains('\\') {
        return Some("it contains a backslash");
    }
    relative.split('/').find_map(|segment| match segment {
        "" => Some("it has an empty path segment (`//`)"),
        "." | ".." => Some("it has a `.` or `..` segment"),
        _ => None,
    })
}
