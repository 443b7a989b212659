//! Custom resources: serving the kinds that CustomResourceDefinitions
//! declare, as kube-apiserver's apiextensions-apiserver does.
//!
//! - [`definition`]: the CustomResourceDefinition kind itself (defaults, validation).
//! - [`served`]: one served CRD version as a row of the resource table.
//! - [`controller`]: CRD status (names, Established, Terminating), the
//!   catalog of served resources, and deleting a CRD's objects on delete.
//! - [`strategy`]: defaulting, status handling and validation of custom objects.
//! - [`schema`]: structural schemas (validation, pruning, defaulting, the
//!   structural check of a CRD's schema).
//! - [`cel`]: `x-kubernetes-validations` rules.

pub mod cel;
pub mod controller;
pub mod definition;
pub mod schema;
pub mod served;
mod strategy;

pub use served::{Served, CLEANUP_FINALIZER};
