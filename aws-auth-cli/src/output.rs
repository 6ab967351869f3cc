//! Tables, JSON and YAML for the terminal.

use std::fmt::Write as _;

use aws_auth_core::edit::yaml_scalar;
use serde_json::Value;

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

/// How tables are printed: set once from the command line and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TableStyle {
    /// Print the header line (`--no-headers` turns it off, for scripts).
    pub(crate) headers: bool,
    /// The terminal's width, when stdout is one: wider tables are cut to fit.
    pub(crate) width: Option<usize>,
}

static STYLE: std::sync::OnceLock<TableStyle> = std::sync::OnceLock::new();

impl TableStyle {
    /// The style for this process: headers unless `no_headers`; the width of
    /// the terminal on stdout (`COLUMNS` first, as shells set it), if any.
    pub(crate) fn detect(no_headers: bool, wide: bool) -> TableStyle {
        use std::io::IsTerminal;
        let stdout = std::io::stdout();
        let width = (stdout.is_terminal() && !wide).then(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<usize>().ok())
                .or_else(|| {
                    rustix::termios::tcgetwinsize(&stdout)
                        .ok()
                        .map(|w| w.ws_col as usize)
                })
        });
        TableStyle {
            headers: !no_headers,
            width: width.flatten().filter(|&w| w > 0),
        }
    }

    /// Sets the style every [`table`] uses; the first call wins.
    pub(crate) fn install(self) {
        let _ = STYLE.set(self);
    }
}

/// Left-aligned columns, in the installed [`TableStyle`].
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let style = STYLE.get().copied().unwrap_or(TableStyle {
        headers: true,
        width: None,
    });
    render_table(header, rows, style)
}

/// No column is cut narrower than this (or its header).
const MIN_COLUMN: usize = 12;

/// Left-aligned columns, two spaces apart; cut to `style.width` by narrowing
/// the last columns first and ending cut cells with `…`.
pub(crate) fn render_table(header: &[&str], rows: &[Vec<String>], style: TableStyle) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    // What the rows of a column share goes first when the table is too
    // wide: the tail is what tells them apart (`…user/alice`).
    let mut prefixes = vec![0; widths.len()];
    if let Some(limit) = style.width {
        let floor: Vec<usize> = header.iter().map(|h| h.len().max(MIN_COLUMN)).collect();
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
        for i in 0..widths.len() {
            if total(&widths) <= limit {
                break;
            }
            let p = shared_prefix(rows, i);
            if p > 0 {
                prefixes[i] = p;
                let rest = rows
                    .iter()
                    .map(|r| 1 + r[i].get(p..).map_or(0, |x| x.chars().count()))
                    .max()
                    .unwrap_or(0);
                widths[i] = rest.max(header[i].len());
            }
        }
        // From the last column to the first: the leading columns name the
        // row (a kind, an ARN), the trailing ones describe it.
        for i in (0..widths.len()).rev() {
            let over = total(&widths).saturating_sub(limit);
            widths[i] -= over.min(widths[i].saturating_sub(floor[i]));
        }
    }
    let cut = |cell: &str, i: usize| -> String { cut_cell(cell, widths[i], prefixes[i]) };
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<&str>, header_line: bool| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            let cell = if header_line {
                cell.to_string()
            } else {
                cut(cell, i)
            };
            let cell = cut_header(&cell, widths[i]);
            if i == last {
                out.push_str(&cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                let _ = write!(out, "{cell}{:pad$}  ", "");
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    if style.headers {
        line(&mut out, header.to_vec(), true);
    }
    for row in rows {
        line(&mut out, row.iter().map(String::as_str).collect(), false);
    }
    out
}

/// The bytes every cell of column `i` starts with (at least two rows), up
/// to their last `:` or `/`: `arn:aws:iam::111122223333:` for one account.
fn shared_prefix(rows: &[Vec<String>], i: usize) -> usize {
    if rows.len() < 2 {
        return 0;
    }
    let first = rows[0][i].as_str();
    let mut len = first.len();
    for r in &rows[1..] {
        len = first
            .bytes()
            .zip(r[i].bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    first[..len]
        .rfind([':', '/'])
        .map_or(0, |at| at + 1)
        .min(first.len())
}

/// A cell in `w` characters: as it is when it fits; else without the
/// column's shared `prefix` (shown as `…`); else an ARN keeps its tail (its
/// name) and anything else its head.
fn cut_cell(cell: &str, w: usize, prefix: usize) -> String {
    let rest = cell.get(prefix..).unwrap_or(cell);
    if prefix > 0 && rest.chars().count() < w {
        return format!("…{rest}");
    }
    if cell.chars().count() <= w {
        return cell.to_owned();
    }
    if cell.starts_with("arn:") {
        let tail: String = rest
            .chars()
            .skip(rest.chars().count().saturating_sub(w.saturating_sub(1)))
            .collect();
        return format!("…{tail}");
    }
    cut_header(cell, w)
}

/// A text in `w` characters, its end cut with `…`.
fn cut_header(text: &str, w: usize) -> String {
    if text.chars().count() <= w {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(w.saturating_sub(1)).collect();
        s.push('…');
        s
    }
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

    /// Issue 10.14: a table fits the terminal, the last columns cut first;
    /// `--no-headers` leaves the header out.
    #[test]
    fn tables_fit_the_terminal_and_drop_headers_on_request() {
        let rows = vec![
            vec![
                "role".to_owned(),
                "arn:aws:iam::111122223333:role/eksctl-prod-nodegroup-NodeInstanceRole-1U8F1QB3BQ3M0".to_owned(),
                "system:node:{{EC2PrivateDNSName}}".to_owned(),
                "system:bootstrappers,system:nodes".to_owned(),
            ],
            vec!["account".to_owned(), "111122223333".to_owned(), "(its own ARN)".to_owned(), String::new()],
        ];
        let header = ["KIND", "ARN", "USERNAME", "GROUPS"];
        let fitted = render_table(
            &header,
            &rows,
            TableStyle {
                headers: true,
                width: Some(80),
            },
        );
        assert!(fitted.lines().all(|l| l.chars().count() <= 80), "{fitted}");
        insta::assert_snapshot!(fitted, @r"
        KIND     ARN                                          USERNAME      GROUPS
        role     …d-nodegroup-NodeInstanceRole-1U8F1QB3BQ3M0  system:node…  system:boot…
        account  111122223333                                 (its own AR…
        ");
        let wide = render_table(
            &header,
            &rows,
            TableStyle {
                headers: true,
                width: Some(300),
            },
        );
        assert_eq!(
            wide,
            render_table(
                &header,
                &rows,
                TableStyle {
                    headers: true,
                    width: None
                }
            )
        );
        assert!(wide.contains("NodeInstanceRole-1U8F1QB3BQ3M0  system:node:{{EC2PrivateDNSName}}"));
        let bare = render_table(
            &header,
            &rows,
            TableStyle {
                headers: false,
                width: None,
            },
        );
        assert!(bare.starts_with("role "), "{bare}");
        // Too narrow for the floors: cut to them, never below.
        let narrow = render_table(
            &header,
            &rows,
            TableStyle {
                headers: true,
                width: Some(20),
            },
        );
        assert_eq!(
            narrow.lines().nth(1).unwrap(),
            "role     …8F1QB3BQ3M0  system:node…  system:boot…",
            "{narrow}"
        );
    }

    /// Issue 25.4: 150 users of one account at 80 columns read apart: the
    /// account is cut, never the names.
    #[test]
    fn a_narrow_table_cuts_what_rows_share() {
        let rows: Vec<Vec<String>> = (0..150)
            .map(|i| {
                vec![
                    "user".to_owned(),
                    format!("arn:aws:iam::111122223333:user/engineering/person-{i:03}"),
                    format!("person-{i:03}"),
                    "developers,view".to_owned(),
                ]
            })
            .collect();
        let style = TableStyle {
            headers: true,
            width: Some(80),
        };
        let t = render_table(&["KIND", "ARN", "USERNAME", "GROUPS"], &rows, style);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{t}");
        let distinct: std::collections::HashSet<&&str> = lines.iter().collect();
        assert_eq!(distinct.len(), lines.len(), "{t}");
        assert!(lines[1].starts_with("user  …person-000  person-000"), "{t}");
        // Too narrow for the rest too: an ARN keeps its tail.
        let t = render_table(
            &["ARN"],
            &rows.iter().map(|r| vec![r[1].clone()]).collect::<Vec<_>>(),
            TableStyle {
                headers: false,
                width: Some(14),
            },
        );
        assert_eq!(t.lines().next(), Some("…person-000"));
        assert_eq!(
            shared_prefix(&rows, 1),
            "arn:aws:iam::111122223333:user/engineering/".len()
        );
    }
}
