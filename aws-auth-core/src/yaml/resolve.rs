//! What yaml.v2 (the YAML library under aws-iam-authenticator) makes of a scalar.
//!
//! yaml.v2 follows YAML 1.1: an unquoted `yes`, `off`, `0777`, `1_000` or `.nan` is not
//! a string. Inside `mapRoles`/`mapUsers` such a value then fails to decode into a
//! string field, and the field is silently left empty. This module reproduces
//! yaml.v2's `resolve` function rule by rule.

use super::tree::Tag;

/// The type yaml.v2 gives a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    /// Any integer from i64::MIN to u64::MAX.
    Int(i128),
    Float(f64),
    Str,
}

/// Resolves an untagged plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            lookup(s).unwrap_or(Resolved::Str)
        }
        b'.' => lookup(s).or_else(|| dot_float(s)).unwrap_or(Resolved::Str),
        b'+' | b'-' | b'0'..=b'9' => lookup(s).or_else(|| number(s)).unwrap_or(Resolved::Str),
        _ => Resolved::Str,
    }
}

/// Resolves a scalar with an explicit tag; `Err` when yaml.v2 refuses the value
/// (`!!int abc`), which fails the whole decode.
pub(crate) fn resolve_tagged(tag: Tag, s: &str) -> Result<Resolved, &'static str> {
    // A quoted scalar with a type tag is resolved from its text all the same.
    let natural = resolve_plain(s);
    match tag {
        Tag::Str | Tag::Binary | Tag::Timestamp | Tag::Other | Tag::Seq | Tag::Map | Tag::Merge => {
            Ok(Resolved::Str)
        }
        Tag::Int => match natural {
            Resolved::Int(_) => Ok(natural),
            _ => Err("is tagged !!int but is not an integer"),
        },
        Tag::Float => match natural {
            Resolved::Float(_) => Ok(natural),
            Resolved::Int(i) => Ok(Resolved::Float(i as f64)),
            _ => Err("is tagged !!float but is not a number"),
        },
        Tag::Bool => match natural {
            Resolved::Bool(_) => Ok(natural),
            _ => Err("is tagged !!bool but is not a boolean"),
        },
        Tag::Null => match natural {
            Resolved::Null => Ok(natural),
            _ => Err("is tagged !!null but is not null"),
        },
    }
}

fn lookup(s: &str) -> Option<Resolved> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Go's `strconv.ParseFloat` on a string starting with `.` (no regex guard in yaml.v2).
fn dot_float(s: &str) -> Option<Resolved> {
    let rest = &s[1..];
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if mantissa.is_empty() || !mantissa.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(e) = exponent {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    finite(s)
}

/// yaml.v2 for a scalar starting with a sign or a digit: underscores removed, then
/// Go's `ParseInt(_, 0, 64)`, `ParseUint(_, 0, 64)`, then a float if it matches
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` and parses finitely.
fn number(s: &str) -> Option<Resolved> {
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Some(Resolved::Int(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Some(Resolved::Int(u as i128));
    }
    if yaml_style_float(&plain) {
        return finite(&plain);
    }
    None
}

fn finite(s: &str) -> Option<Resolved> {
    // Go reports overflow to ±Inf as an error, and yaml.v2 then keeps the string.
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Resolved::Float)
}

fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(digits)? as i128;
    let value = if negative { -magnitude } else { magnitude };
    (i64::MIN as i128..=i64::MAX as i128)
        .contains(&value)
        .then_some(value)
}

/// Go's `ParseUint(s, 0, 64)`.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let (radix, digits) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if s.len() >= 3 => (2, &s[2..]),
            Some(b'o') if s.len() >= 3 => (8, &s[2..]),
            Some(b'x') if s.len() >= 3 => (16, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)? as u64;
        value = value.checked_mul(radix as u64)?.checked_add(d)?;
    }
    Some(value)
}

fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Resolved::*;

    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        for s in ["yes", "Yes", "YES", "y", "Y", "on", "ON", "true", "True"] {
            assert_eq!(resolve_plain(s), Bool(true), "{s}");
        }
        for s in ["no", "No", "n", "N", "off", "Off", "false", "FALSE"] {
            assert_eq!(resolve_plain(s), Bool(false), "{s}");
        }
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(s), Null, "{s}");
        }
        for s in [
            "yES",
            "nO",
            "tRUE",
            "NuLL",
            "system:nodes",
            "admin",
            "o",
            "Off-peak",
        ] {
            assert_eq!(resolve_plain(s), Str, "{s}");
        }
    }

    #[test]
    fn go_integer_syntax_after_removing_underscores() {
        assert_eq!(resolve_plain("0777"), Int(0o777));
        assert_eq!(resolve_plain("0x1F"), Int(31));
        assert_eq!(resolve_plain("0o17"), Int(15));
        assert_eq!(resolve_plain("0b101"), Int(5));
        assert_eq!(resolve_plain("-0b101"), Int(-5));
        assert_eq!(resolve_plain("1_000"), Int(1000));
        assert_eq!(resolve_plain("1_"), Int(1));
        assert_eq!(resolve_plain("+12"), Int(12));
        assert_eq!(resolve_plain("111122223333"), Int(111_122_223_333));
        assert_eq!(resolve_plain("18446744073709551615"), Int(u64::MAX as i128));
        assert_eq!(resolve_plain("0"), Int(0));
        assert_eq!(resolve_plain("0x"), Str);
        assert_eq!(resolve_plain("-"), Str);
        assert_eq!(resolve_plain("_"), Str);
    }

    #[test]
    fn leading_zero_accounts_become_floats_not_strings() {
        // Octal parsing fails on 8 and 9, the float pattern then matches.
        assert_eq!(resolve_plain("012345678901"), Float(12_345_678_901.0));
        assert_eq!(resolve_plain("08"), Float(8.0));
    }

    #[test]
    fn floats_follow_the_yaml_v2_pattern() {
        assert_eq!(resolve_plain("1.5"), Float(1.5));
        assert_eq!(resolve_plain("1."), Float(1.0));
        assert_eq!(resolve_plain("1e3"), Float(1000.0));
        assert_eq!(resolve_plain(".5"), Float(0.5));
        assert_eq!(resolve_plain(".5e1"), Float(5.0));
        assert_eq!(resolve_plain("1e999"), Str);
        assert_eq!(resolve_plain("1.2.3"), Str);
        assert_eq!(resolve_plain("."), Str);
        assert_eq!(resolve_plain("1e"), Str);
        assert!(matches!(resolve_plain(".nan"), Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("-.inf"), Float(f64::NEG_INFINITY));
        assert_eq!(resolve_plain("2024-01-01"), Str);
        assert_eq!(resolve_plain("1:2"), Str);
    }

    #[test]
    fn tags_override_or_fail() {
        assert_eq!(resolve_tagged(Tag::Str, "12"), Ok(Str));
        assert_eq!(resolve_tagged(Tag::Int, "12"), Ok(Int(12)));
        assert_eq!(resolve_tagged(Tag::Float, "12"), Ok(Float(12.0)));
        assert!(resolve_tagged(Tag::Int, "abc").is_err());
        assert_eq!(resolve_tagged(Tag::Other, "yes"), Ok(Str));
    }
}
