//! [`Text`]: the strings of the model, cheap to make, clone and drop.
//!
//! A large map holds tens of thousands of ARNs, usernames and groups. As
//! `String`s each one was an allocation when read, another when an edit copied
//! the list, and a free when dropped. A `Text` read from a data string is a range
//! of it (and keeps it alive): reading, copying and dropping one touches only
//! the string's reference count. Text from elsewhere (an edit's new mapping)
//! has a shared allocation of its own.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string of the model. It reads like a `&str` (it derefs to one),
/// compares with `str`, `&str` and `String`, and converts from both.
///
/// ```
/// use aws_auth_core::Text;
///
/// let group = Text::from("system:masters");
/// assert_eq!(group, "system:masters");
/// assert!(group.starts_with("system:"));
/// assert_eq!(String::from(group), "system:masters");
/// ```
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Empty,
    /// `source[start..end]`; both are char boundaries.
    Shared {
        source: Arc<String>,
        start: u32,
        end: u32,
    },
    Owned(Arc<str>),
}

impl Text {
    /// The empty string.
    pub const fn new() -> Text {
        Text(Repr::Empty)
    }

    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Empty => "",
            Repr::Shared { source, start, end } => source
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Repr::Owned(s) => s,
        }
    }

    /// All of `source`.
    pub(crate) fn whole(source: &Arc<String>) -> Text {
        Text::within(source, source.as_str())
    }

    /// `s`, which lies inside `source` (as a slice of it), without copying it.
    pub(crate) fn within(source: &Arc<String>, s: &str) -> Text {
        // Where `s` lies in `source`, found from the addresses (no unsafe code:
        // only integers are compared); anything else is copied.
        let at = (s.as_ptr() as usize).checked_sub(source.as_ptr() as usize);
        let end = at.and_then(|at| at.checked_add(s.len()));
        match (at.map(u32::try_from), end.map(u32::try_from)) {
            (Some(Ok(start)), Some(Ok(end))) if end as usize <= source.len() => {
                Text(Repr::Shared {
                    source: Arc::clone(source),
                    start,
                    end,
                })
            }
            _ => Text::from(s),
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if s.is_empty() {
            Text::new()
        } else {
            Text(Repr::Owned(Arc::from(s)))
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

macro_rules! eq_str {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for Text {
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }

        impl PartialEq<Text> for $other {
            fn eq(&self, other: &Text) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_str!(str, &str, String);

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_representation_reads_back() {
        let source = Arc::new("- rolearn: arn:aws:iam::111122223333:role/Admin\n".to_owned());
        let arn = &source[11..source.len() - 1];
        let shared = Text::within(&source, arn);
        assert!(matches!(shared.0, Repr::Shared { .. }));
        assert_eq!(shared, "arn:aws:iam::111122223333:role/Admin");
        let short = Text::within(&source, &source[2..9]);
        assert_eq!(short, "rolearn");
        // Not a slice of the source: copied.
        let elsewhere = "arn:aws:iam::111122223333:role/Admin".to_owned();
        let owned = Text::within(&source, &elsewhere);
        assert!(matches!(owned.0, Repr::Owned(_)));
        assert_eq!(owned, shared);
        assert_eq!(Text::from(""), Text::new());
        assert_eq!(Text::from("é".repeat(30)).as_str(), "é".repeat(30));
        assert_eq!(format!("{short:?} {short}"), "\"rolearn\" rolearn");
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
    }
}
