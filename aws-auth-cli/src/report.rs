//! What a command returns: its result as data, what is said beside it on
//! stderr, and its exit code. [`Report::render`] is the one place a result
//! becomes a table, JSON or YAML, so results of several commands (or of
//! several clusters) can be merged before anything is printed.

use serde::Serialize;
use serde_json::Value;

use crate::cli::Output;
use crate::exit::OK;
use crate::output;

/// How a result reads on a terminal (`-o table`, the default).
pub(crate) trait Text {
    /// The result as a terminal shows it.
    fn text(&self) -> String;

    /// The result with `-o yaml`; the data as YAML unless the result reads
    /// better otherwise (Kubernetes objects as a stream of documents).
    fn yaml(&self, data: &Value) -> String {
        output::yaml(data)
    }

    /// The result as rows under headers, for a run over many clusters to
    /// put every cluster's rows in one table (a finding, a mapping, a
    /// cluster's status per row); `None`: the text stands under the
    /// cluster's name.
    fn rows(&self) -> Option<Rows> {
        None
    }
}

/// A result as a table's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rows {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Rows {
    /// The rows as a table (`empty` when there are none).
    pub(crate) fn table(&self, empty: &str) -> String {
        if self.rows.is_empty() {
            return format!("{empty}\n");
        }
        output::table(&self.headers, &self.rows)
    }
}

/// A result: serialisable for `-o json|yaml`, readable as text.
trait Body {
    fn data(&self) -> serde_json::Result<Value>;
    fn text(&self) -> String;
    fn yaml(&self, data: &Value) -> String;
    fn rows(&self) -> Option<Rows>;
}

impl<T: Serialize + Text> Body for T {
    fn data(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }

    fn text(&self) -> String {
        Text::text(self)
    }

    fn yaml(&self, data: &Value) -> String {
        Text::yaml(self, data)
    }

    fn rows(&self) -> Option<Rows> {
        Text::rows(self)
    }
}

/// A command's result, what is said beside it and its exit code.
pub(crate) struct Report {
    body: Box<dyn Body>,
    /// Lines for stderr in every format: warnings, forced guards, where the
    /// cluster came from; a script reading stdout still sees them.
    notes: Vec<String>,
    /// Lines for stderr under a table only: summaries that the data already
    /// holds.
    asides: Vec<String>,
    /// The exit code.
    pub(crate) code: u8,
    /// Text for stdout as it is, instead of the result, which then goes to
    /// stderr (a manifest edited from stdin to stdout).
    passthrough: Option<String>,
}

/// What a report prints.
pub(crate) struct Rendered {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Report {
    /// A result that ends the command with exit code 0.
    pub(crate) fn new(result: impl Serialize + Text + 'static) -> Report {
        Report {
            body: Box::new(result),
            notes: Vec::new(),
            asides: Vec::new(),
            code: OK,
            passthrough: None,
        }
    }

    /// The same report ending with `code`.
    pub(crate) fn with_code(mut self, code: u8) -> Report {
        self.code = code;
        self
    }

    /// Adds a line for stderr in every format.
    pub(crate) fn note(mut self, line: impl Into<String>) -> Report {
        self.push_note(line);
        self
    }

    /// Adds a line for stderr in every format.
    pub(crate) fn push_note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// Puts lines for stderr before those already there.
    pub(crate) fn prepend_notes(&mut self, lines: impl IntoIterator<Item = String>) {
        let mut lines: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).collect();
        lines.append(&mut self.notes);
        self.notes = lines;
    }

    /// Adds a line for stderr under a table.
    pub(crate) fn aside(mut self, line: impl Into<String>) -> Report {
        self.asides.push(line.into());
        self
    }

    /// Prints `text` on stdout instead of the result, which goes to stderr.
    pub(crate) fn passthrough(mut self, text: String) -> Report {
        self.passthrough = Some(text);
        self
    }

    /// The report as one part of another command's (`grant` runs an edit
    /// of the map or of the access entries as its own step).
    pub(crate) fn part(&self) -> anyhow::Result<Part> {
        let mut notes = self.notes.clone();
        notes.extend(self.asides.iter().cloned());
        Ok(Part {
            data: self.body.data()?,
            text: self.body.text(),
            rows: self.body.rows(),
            notes,
            code: self.code,
        })
    }

    /// The report as the terminal gets it in `format`.
    pub(crate) fn render(&self, format: Output) -> anyhow::Result<Rendered> {
        let result = match format {
            Output::Table | Output::Wide => self.body.text(),
            Output::Json => format!("{}\n", serde_json::to_string_pretty(&self.body.data()?)?),
            Output::Yaml => self.body.yaml(&self.body.data()?),
        };
        let mut stderr = String::new();
        for line in &self.notes {
            stderr.push_str(line);
            stderr.push('\n');
        }
        if format == Output::Table {
            for line in &self.asides {
                stderr.push_str(line);
                stderr.push('\n');
            }
        }
        Ok(match &self.passthrough {
            Some(text) => Rendered {
                stdout: text.clone(),
                stderr: format!("{result}{stderr}"),
            },
            None => Rendered {
                stdout: result,
                stderr,
            },
        })
    }
}

/// A report taken apart: see [`Report::part`].
pub(crate) struct Part {
    pub(crate) data: Value,
    pub(crate) text: String,
    pub(crate) rows: Option<Rows>,
    pub(crate) notes: Vec<String>,
    pub(crate) code: u8,
}

/// A result that prints nothing (a server that ran until it was stopped).
#[derive(Serialize)]
pub(crate) struct Nothing {}

impl Text for Nothing {
    fn text(&self) -> String {
        String::new()
    }
}

/// A result that is text already, in every format (a completion script).
pub(crate) struct Verbatim(pub(crate) String);

impl Serialize for Verbatim {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Text for Verbatim {
    fn text(&self) -> String {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Count {
        count: u32,
    }

    impl Text for Count {
        fn text(&self) -> String {
            format!("{} things\n", self.count)
        }
    }

    #[test]
    fn one_result_three_formats_and_notes_where_they_belong() {
        let r = Report::new(Count { count: 2 })
            .note("warning: one")
            .aside("summary: two")
            .with_code(2);
        let t = r.render(Output::Table).unwrap();
        assert_eq!(t.stdout, "2 things\n");
        assert_eq!(t.stderr, "warning: one\nsummary: two\n");
        let j = r.render(Output::Json).unwrap();
        assert_eq!(j.stdout, "{\n  \"count\": 2\n}\n");
        assert_eq!(j.stderr, "warning: one\n");
        let y = r.render(Output::Yaml).unwrap();
        assert_eq!(y.stdout, "count: 2\n");
        // As a part of a merged result (the fleet's, grant's).
        let p = r.part().unwrap();
        assert_eq!(p.data, serde_json::json!({"count": 2}));
        assert_eq!((p.code, p.text.as_str()), (2, "2 things\n"));
        assert_eq!(p.notes, ["warning: one", "summary: two"]);
    }

    #[test]
    fn passthrough_keeps_stdout_for_the_text_and_moves_the_result() {
        let r = Report::new(Count { count: 1 })
            .note("n")
            .passthrough("kind: ConfigMap\n".into());
        let t = r.render(Output::Table).unwrap();
        assert_eq!(t.stdout, "kind: ConfigMap\n");
        assert_eq!(t.stderr, "1 things\nn\n");
    }
}
