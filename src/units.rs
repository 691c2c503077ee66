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

/// An integer as vLLM's `human_readable_int` reads it (`vllm/utils/argparse_utils.py`): plain
/// digits, or a number with `k`/`m`/`g`/`t` (powers of 1000, decimals allowed) or `K`/`M`/`G`/`T`
/// (powers of 1024, whole numbers only): `8G` is 8 GiB, `25.6k` is 25,600.
pub fn parse_vllm_int(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n);
    }
    let bad = || format!("`{text}` is not an integer like vLLM takes (`8589934592`, `8G`, `8.5g`)");
    let (number, suffix) = text.split_at(text.len().saturating_sub(1));
    let value = match suffix {
        "k" | "m" | "g" | "t" => {
            let exponent = "kmgt".find(suffix).expect("a listed suffix") as i32 + 1;
            let value: f64 = number.parse().map_err(|_| bad())?;
            value * 1000f64.powi(exponent)
        }
        "K" | "M" | "G" | "T" => {
            let exponent = "KMGT".find(suffix).expect("a listed suffix") as u32 + 1;
            let whole: u64 = number.parse().map_err(|_| {
                format!("decimals are not allowed with binary suffixes like {suffix}; did you mean `{number}{}`?", suffix.to_ascii_lowercase())
            })?;
            return whole
                .checked_mul(1024u64.pow(exponent))
                .filter(|b| *b <= 1_000_000_000_000_000)
                .ok_or_else(|| format!("`{text}` is larger than any GPU (over 1 PB)"));
        }
        _ => return Err(bad()),
    };
    if !(value.is_finite() && (0.0..=1e15).contains(&value)) {
        return Err(format!("`{text}` is larger than any GPU (over 1 PB)"));
    }
    Ok(value as u64)
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

    #[test]
    fn reads_integers_as_vllm_does() {
        // The examples in vLLM's `human_readable_int` docstring, and its refusal of binary decimals.
        assert_eq!(parse_vllm_int("1k"), Ok(1_000));
        assert_eq!(parse_vllm_int("1K"), Ok(1_024));
        assert_eq!(parse_vllm_int("25.6k"), Ok(25_600));
        assert_eq!(parse_vllm_int("8G"), Ok(8 * 1024 * 1024 * 1024));
        assert_eq!(parse_vllm_int("37950772224"), Ok(37_950_772_224));
        assert!(
            parse_vllm_int("2.5K")
                .unwrap_err()
                .contains("did you mean `2.5k`")
        );
        for bad in ["", "k", "1x", "-1", "1e3", "9999T", "1.5"] {
            assert!(parse_vllm_int(bad).is_err(), "{bad}");
        }
    }

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
