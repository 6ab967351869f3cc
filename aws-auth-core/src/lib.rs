//! Read, lint, explain and losslessly edit the Amazon EKS `aws-auth` ConfigMap.
//!
//! aws-iam-authenticator reads `data.mapRoles`, `data.mapUsers` and
//! `data.mapAccounts`, YAML held inside strings, at every login. This crate reads
//! them exactly as it does (yaml.v2's YAML 1.1 scalars, Go's case-insensitive
//! JSON fields, whole-key failures, last-duplicate-wins) and edits them without
//! re-rendering anything but the entries an edit touches.
//!
//! Data flows one way: text -> [`Document`] (spans) -> [`MapView`] (what the reader
//! sees) -> lint, explain or edit -> bytes.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod access;
pub mod admission;
pub mod arn;
pub mod audit;
#[cfg(feature = "kube")]
#[cfg_attr(docsrs, doc(cfg(feature = "kube")))]
pub mod cluster;
pub mod diff;
mod document;
pub mod edit;
pub mod effective;
#[cfg(feature = "eks")]
#[cfg_attr(docsrs, doc(cfg(feature = "eks")))]
pub mod eks;
pub mod entries;
mod error;
pub mod explain;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod grant;
pub mod guard;
pub mod lint;
pub mod login;
pub(crate) mod manifest;
pub mod migrate;
pub mod model;
pub mod position;
pub mod rbac;
pub(crate) mod read;
pub(crate) mod reread;
pub mod restore;
pub mod status;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod store;
pub(crate) mod template;
mod text;
mod time;
pub(crate) mod yaml;

/// The crate README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use document::{Document, ManifestError};
pub use error::{Error, error_chain};
pub use model::{DataKey, Entry, KeyState, KeyView, MapView, RoleMapping, SsoMatcher, UserMapping};
pub use position::Position;
pub use text::Text;
