//! Byte sizes as users type them (`79.19GiB`, `24GB`, `512MiB`) and as we print them.

use std::fmt;

pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Parses a size such as `79.19GiB`, `80 GB`, `1073741824`. Decimal units are powers of 1000,
/// binary units powers of 1024, as `nvidia-smi` (MiB) and vLLM's logs (GiB) use them.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write it like `79.19GiB` or `24GB`"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => GIB,
        "ti" | "tib" => GIB * 1024.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = value * multiplier;
    if !(bytes.is_finite() && bytes >= 1.0) {
        return Err(format!("`{text}` must be a positive size"));
    }
    if bytes > 1e15 {
        return Err(format!("`{text}` is larger than any GPU (over 1 PB)"));
    }
    Ok(bytes.round() as u64)
}

/// Bytes shown the way vLLM logs them: GiB with two decimals.
pub struct Gib(pub f64);

impl fmt::Display for Gib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} GiB", self.0 / GIB)
    }
}

pub fn gib(bytes: impl Into<f64>) -> Gib {
    Gib(bytes.into())
}

/// Integers with thousands separators, as vLLM prints token counts (`476,032`).
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Now, in RFC 3339 with the zone (`2026-11-30T21:05:27.415977Z`): what llmops records and shows.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    if seconds < 1.0 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        return format!("{} min {:02} s", whole / 60, whole % 60);
    }
    format!("{} h {:02} min", whole / 3600, whole % 3600 / 60)
}

/// Bytes for people, in binary units: `1.50 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_and_decimal_units() {
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("24 GB").unwrap(), 24_000_000_000);
        assert_eq!(parse_bytes("81559MiB").unwrap(), 81559 * 1024 * 1024);
        assert_eq!(parse_bytes("1073741824").unwrap(), 1 << 30);
    }

    #[test]
    fn refuses_nonsense() {
        assert!(parse_bytes("").is_err());
        assert!(parse_bytes("0GiB").is_err());
        assert!(parse_bytes("-3GiB").is_err());
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("9999999TiB").is_err());
    }

    #[test]
    fn formats_like_vllm() {
        assert_eq!(thousands(476_032), "476,032");
        assert_eq!(thousands(12), "12");
        assert_eq!(gib(58.11 * GIB).to_string(), "58.11 GiB");
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(0.335), "335 ms");
        assert_eq!(human_duration(12.34), "12.3 s");
        assert_eq!(human_duration(245.0), "4 min 05 s");
        assert_eq!(human_duration(3720.0), "1 h 02 min");
        assert_eq!(human_duration(f64::NAN), "-");
        assert_eq!(human_bytes(1536 * 1024 * 1024), "1.50 GiB");
    }

    #[test]
    fn timestamps_carry_their_zone() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z') && now.contains('T'), "{now}");
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok());
    }
}
