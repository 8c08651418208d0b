//! Quantities with explicit units: sizes, rates and durations.
//!
//! Sizes: a number and one of `B`, `kB`/`KB`, `MB`, `GB`, `TB` (powers of 1000),
//! `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024), or `bit`, `kbit`, `Mbit`, `Gbit`
//! (bits, 8 to a byte). Rates: a size unit followed by `/s` (`"10 Mbit/s"`,
//! `"1.5 MB/s"`, `"500 kbit/s"`, `"2 MiB/s"`), or `unlimited` where a rate may be
//! unbounded. Durations: a number and `ns`, `us`, `ms`, `s`, `min`, `h` or `d`.
//! Spaces between number and unit are optional; a bare number is an error.

/// Accepted size units, shown in error messages.
pub const SIZE_UNITS: &str = "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, bit, kbit, Mbit, Gbit";
/// Accepted rate units, shown in error messages.
pub const RATE_UNITS: &str =
    "bit/s, kbit/s, Mbit/s, Gbit/s, B/s, kB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s";
/// Accepted duration units, shown in error messages.
pub const DURATION_UNITS: &str = "ns, us, ms, s, min, h, d";

/// Bytes in one of a size unit, or `None` if the unit is unknown.
fn size_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0f64.powi(4),
        "bit" => 1.0 / 8.0,
        "kbit" => 1e3 / 8.0,
        "Mbit" => 1e6 / 8.0,
        "Gbit" => 1e9 / 8.0,
        _ => return None,
    })
}

fn duration_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    })
}

/// Splits `"12.5 MiB"` into (12.5, "MiB"). Errors are short phrases for the caller.
fn split(text: &str) -> Result<(f64, &str), String> {
    let t = text.trim();
    let end = t
        .find(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
        })
        .unwrap_or(t.len());
    // An exponent letter directly followed by a unit letter belongs to the unit.
    let (num, unit) = t.split_at(end);
    let unit = unit.trim();
    if num.is_empty() {
        return Err("it does not start with a number".into());
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{num}` is not a number"))?;
    if !value.is_finite() {
        return Err("the number is not finite".into());
    }
    if unit.is_empty() {
        return Err("it has no unit".into());
    }
    Ok((value, unit))
}

/// Parses a size into bytes (may be fractional; callers round as they need).
pub fn parse_size(text: &str) -> Result<f64, String> {
    let (v, unit) = split(text)?;
    let per = size_unit(unit).ok_or_else(|| format!("unknown size unit `{unit}`"))?;
    Ok(v * per)
}

/// Parses a rate into bytes per second; `unlimited` gives infinity.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    if text.trim() == "unlimited" {
        return Ok(f64::INFINITY);
    }
    let (v, unit) = split(text)?;
    let Some(size) = unit.strip_suffix("/s") else {
        return Err(format!("unknown rate unit `{unit}` (a rate ends in `/s`)"));
    };
    let per = size_unit(size.trim()).ok_or_else(|| format!("unknown rate unit `{unit}`"))?;
    Ok(v * per)
}

/// Accepted frequency units, shown in error messages.
pub const FREQUENCY_UNITS: &str = "/s, /min, /h, /d (events per unit of time)";

/// Parses a frequency such as `"2 /min"` or `"0.5/s"` into events per second.
pub fn parse_frequency(text: &str) -> Result<f64, String> {
    let (v, unit) = split(text)?;
    let Some(per) = unit.strip_prefix('/') else {
        return Err(format!(
            "unknown frequency unit `{unit}` (a frequency is a number per time, like `2 /min`)"
        ));
    };
    let secs =
        duration_unit(per.trim()).ok_or_else(|| format!("unknown frequency unit `{unit}`"))?;
    Ok(v / secs)
}

/// Parses a duration into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let (v, unit) = split(text)?;
    let per = duration_unit(unit).ok_or_else(|| format!("unknown duration unit `{unit}`"))?;
    Ok(v * per)
}

/// Formats bytes for people: `450 MB`, `256 KiB`, `12 B`.
pub fn fmt_bytes(b: f64) -> String {
    let units = [
        (1024f64.powi(3), "GiB"),
        (1024f64.powi(2), "MiB"),
        (1024.0, "KiB"),
    ];
    for (per, name) in units {
        if b >= per && (b / per).fract() == 0.0 {
            return format!("{} {name}", b / per);
        }
    }
    let dec = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    for (per, name) in dec {
        if b >= per {
            return format!("{} {name}", trim(b / per));
        }
    }
    format!("{} B", trim(b))
}

/// Formats a rate for people in bit/s: `10 Mbit/s`, or `unlimited`.
pub fn fmt_rate(r: f64) -> String {
    if r.is_infinite() {
        return "unlimited".into();
    }
    let bits = r * 8.0;
    for (per, name) in [(1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")] {
        if bits >= per {
            return format!("{} {name}", trim(bits / per));
        }
    }
    format!("{} bit/s", trim(bits))
}

/// Formats seconds for people: `1234.5 s (20.6 min)`.
pub fn fmt_secs(s: f64) -> String {
    if s >= 7200.0 {
        format!("{} s ({:.3} h)", trim(s), s / 3600.0)
    } else if s >= 120.0 {
        format!("{} s ({:.2} min)", trim(s), s / 60.0)
    } else {
        format!("{} s", trim(s))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100 MiB"), Ok(100.0 * 1048576.0));
        assert_eq!(parse_size("256 KiB"), Ok(262144.0));
        assert_eq!(parse_size("1 GB"), Ok(1e9));
        assert_eq!(parse_size("450MB"), Ok(450e6));
        assert_eq!(parse_size("8 bit"), Ok(1.0));
        assert!(parse_size("100").unwrap_err().contains("no unit"));
        assert!(
            parse_size("100 furlongs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn rates() {
        // 10 Mbit/s = 10e6 / 8 bytes per second.
        assert_eq!(parse_rate("10 Mbit/s"), Ok(1.25e6));
        assert_eq!(parse_rate("1.5 MB/s"), Ok(1.5e6));
        assert_eq!(parse_rate("500 kbit/s"), Ok(62500.0));
        assert_eq!(parse_rate("2 MiB/s"), Ok(2.0 * 1048576.0));
        assert_eq!(parse_rate("unlimited"), Ok(f64::INFINITY));
        assert!(parse_rate("10 Mbit").unwrap_err().contains("/s"));
        assert!(parse_rate("10").is_err());
    }

    #[test]
    fn frequencies() {
        // 120 per minute = 2 per second.
        assert_eq!(parse_frequency("120 /min"), Ok(2.0));
        assert_eq!(parse_frequency("0.5/s"), Ok(0.5));
        assert!(parse_frequency("2 min").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30 s"), Ok(30.0));
        assert_eq!(parse_duration("2 min"), Ok(120.0));
        assert_eq!(parse_duration("1.5 h"), Ok(5400.0));
        assert_eq!(parse_duration("250 ms"), Ok(0.25));
        assert!(parse_duration("3 fortnights").is_err());
    }
}
