//! Tables, JSON and YAML for the terminal.

use std::fmt::Write as _;

use aws_auth_core::edit::yaml_scalar;
use serde_json::Value;

use crate::cli::Output;

/// A JSON value as YAML (block style, scalars quoted when YAML would misread them).
pub(crate) fn yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(&mut out, value, 0, false);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar(s),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(o) if o.is_empty() => "{}".to_owned(),
        _ => String::new(),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(a) if !a.is_empty())
        && !matches!(value, Value::Object(o) if !o.is_empty())
}

fn write_yaml(out: &mut String, value: &Value, indent: usize, inline_first: bool) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                let lead = if i == 0 && inline_first {
                    String::new()
                } else {
                    pad.clone()
                };
                if is_scalar(v) {
                    let _ = writeln!(out, "{lead}{}: {}", yaml_scalar(k), scalar(v));
                } else {
                    let _ = writeln!(out, "{lead}{}:", yaml_scalar(k));
                    write_yaml(out, v, indent + 2, false);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                if is_scalar(v) {
                    let _ = writeln!(out, "{pad}- {}", scalar(v));
                } else {
                    out.push_str(&format!("{pad}- "));
                    write_yaml(out, v, indent + 2, true);
                }
            }
        }
        v => {
            let _ = writeln!(out, "{pad}{}", scalar(v));
        }
    }
}

/// Prints a serialisable value as JSON or YAML.
pub(crate) fn structured(format: Output, value: &impl serde::Serialize) -> anyhow::Result<String> {
    let value = serde_json::to_value(value)?;
    Ok(match format {
        Output::Yaml => yaml(&value),
        _ => format!("{}\n", serde_json::to_string_pretty(&value)?),
    })
}

/// Left-aligned columns.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<&str>| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ", w = widths[i]);
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, header.to_vec());
    for row in rows {
        line(&mut out, row.iter().map(String::as_str).collect());
    }
    out
}

/// Colours a unified diff for a terminal (unless `NO_COLOR` is set).
pub(crate) fn color_diff(diff: &str) -> String {
    use std::io::IsTerminal;
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb");
    if !color {
        return diff.to_owned();
    }
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.split_inclusive('\n') {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let _ = write!(out, "\x1b[{code}m{body}\x1b[0m");
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_what_yaml_would_misread() {
        let v = serde_json::json!({"mapRoles": [{"rolearn": "arn:aws:iam::1:role/A", "groups": ["system:masters", "no"], "username": "{{SessionName}}"}], "mapAccounts": ["012345678901"], "mapUsers": []});
        assert_eq!(
            yaml(&v),
            // Keys keep their order (serde_json's preserve_order).
            "mapRoles:\n  - rolearn: arn:aws:iam::1:role/A\n    groups:\n      - system:masters\n      - \"no\"\n    username: \"{{SessionName}}\"\nmapAccounts:\n  - \"012345678901\"\nmapUsers: []\n"
        );
    }

    #[test]
    fn tables_align() {
        let t = table(&["A", "B"], &[vec!["xx".into(), "y".into()]]);
        assert_eq!(t, "A   B\nxx  y\n");
    }
}
