//! Asking before an edit that breaks something, when someone is there to answer.

use std::io::{BufRead, IsTerminal, Write};

/// What to do about a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes,
    No,
    /// Nobody to ask: stdin is not a terminal.
    NoTerminal,
}

/// `--yes` answers yes; otherwise the question goes to stderr and the answer
/// comes from stdin when stdin is a terminal.
pub(crate) fn ask(question: &str, yes: bool) -> Answer {
    if yes {
        return Answer::Yes;
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Answer::NoTerminal;
    }
    read_answer(question, &mut stdin.lock(), &mut std::io::stderr())
}

fn read_answer(question: &str, input: &mut dyn BufRead, prompt: &mut dyn Write) -> Answer {
    let _ = write!(prompt, "{question} [y/N] ");
    let _ = prompt.flush();
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(_) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Answer::Yes,
        _ => Answer::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_is_yes() {
        for (typed, want) in [
            ("y\n", Answer::Yes),
            ("YES\n", Answer::Yes),
            (" yes \n", Answer::Yes),
            ("\n", Answer::No),
            ("n\n", Answer::No),
            ("yep\n", Answer::No),
            ("", Answer::No),
        ] {
            let mut prompt = Vec::new();
            let got = read_answer("remove it?", &mut typed.as_bytes(), &mut prompt);
            assert_eq!(got, want, "{typed:?}");
            assert_eq!(prompt, b"remove it? [y/N] ");
        }
    }
}
