//! Replacing byte ranges of a text.

/// Replace `start..end` of a text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: String,
}

impl Splice {
    pub(crate) fn new(start: usize, end: usize, text: impl Into<String>) -> Self {
        Splice {
            start,
            end,
            text: text.into(),
        }
    }
}

/// Sorts splices, checks that none overlaps another and merges those that touch
/// (a removal and an insertion at its end become one splice). `None` when they
/// overlap.
pub(crate) fn sorted(mut splices: Vec<Splice>) -> Option<Vec<Splice>> {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out: Vec<Splice> = Vec::with_capacity(splices.len());
    for s in splices {
        match out.last_mut() {
            Some(prev) if s.start < prev.end => return None,
            Some(prev) if s.start == prev.end => {
                prev.end = s.end;
                prev.text.push_str(&s.text);
            }
            _ => out.push(s),
        }
    }
    Some(out)
}

/// Applies sorted, non-overlapping splices; `None` if they do not fit the text.
pub(crate) fn apply(text: &str, splices: &[Splice]) -> Option<String> {
    let mut out =
        String::with_capacity(text.len() + splices.iter().map(|s| s.text.len()).sum::<usize>());
    let mut at = 0;
    for s in splices {
        if s.start < at || s.end < s.start {
            return None;
        }
        out.push_str(text.get(at..s.start)?);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Splices computed on `text + "\n"` (for a text without a final line feed),
/// turned into splices on `text` that keep it without one: what touches the end
/// moves its line feed to the front.
pub(crate) fn denormalize(raw_len: usize, splices: Vec<Splice>) -> Vec<Splice> {
    let norm_len = raw_len + 1;
    splices
        .into_iter()
        .map(|s| {
            if s.end < norm_len {
                return s;
            }
            let body = s.text.strip_suffix('\n').unwrap_or(&s.text);
            if s.start == norm_len {
                let text = if body.is_empty() {
                    String::new()
                } else {
                    format!("\n{body}")
                };
                Splice::new(raw_len, raw_len, text)
            } else if s.start == 0 {
                Splice::new(0, raw_len, body)
            } else {
                let text = if s.text.is_empty() {
                    String::new()
                } else {
                    format!("\n{body}")
                };
                Splice::new(s.start - 1, raw_len, text)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_norm(raw: &str, splices: Vec<Splice>) -> String {
        apply(raw, &denormalize(raw.len(), sorted(splices).unwrap())).unwrap()
    }

    #[test]
    fn texts_without_a_final_line_feed_keep_that_shape() {
        // Append after "- a".
        assert_eq!(
            via_norm("- a", vec![Splice::new(4, 4, "- b\n")]),
            "- a\n- b"
        );
        // Remove the last line.
        assert_eq!(via_norm("- a\n- b", vec![Splice::new(4, 8, "")]), "- a");
        // Replace the last line.
        assert_eq!(
            via_norm("- a\n- b", vec![Splice::new(4, 8, "- c\n")]),
            "- a\n- c"
        );
        // Replace everything.
        assert_eq!(via_norm("- a", vec![Splice::new(0, 4, "- z\n")]), "- z");
        // Not touching the end.
        assert_eq!(via_norm("- a\n- b", vec![Splice::new(0, 4, "")]), "- b");
        // The last two lines removed by two splices: the line feed moves once.
        assert_eq!(
            via_norm(
                "- a\n- b\n- c",
                vec![Splice::new(4, 8, ""), Splice::new(8, 12, "- d\n")]
            ),
            "- a\n- d"
        );
    }

    #[test]
    fn overlaps_are_refused() {
        assert!(sorted(vec![Splice::new(0, 5, ""), Splice::new(3, 6, "")]).is_none());
        let ok = sorted(vec![Splice::new(5, 5, "x"), Splice::new(0, 5, "")]).unwrap();
        assert_eq!(ok, [Splice::new(0, 5, "x")]);
        assert_eq!(apply("abcdefg", &ok).unwrap(), "xfg");
        assert!(apply("abc", &[Splice::new(2, 9, "")]).is_none());
    }
}
