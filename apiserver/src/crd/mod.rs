//! Custom resources: serving the kinds that CustomResourceDefinitions
//! declare, as kube-apiserver's apiextensions-apiserver does.
//!
//! - [`schema`]: structural schemas (validation, pruning, defaulting, the
//!   structural check of a CRD's schema).
//! - [`cel`]: `x-kubernetes-validations` rules.

pub mod cel;
pub mod schema;
