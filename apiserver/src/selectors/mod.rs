//! Label and field selectors, as kube-apiserver parses and matches them.
//!
//! - [`labels`]: `labelSelector` strings (`a=b,c!=d,e in (f,g),!h`) and
//!   `metav1.LabelSelector` objects, with upstream's validation and messages.
//! - [`fields`]: `fieldSelector` strings (`metadata.name=x,spec.nodeName!=`),
//!   the fields each kind lets clients select on, and their values.
//!
//! Errors are the message text kube-apiserver puts in its 400 BadRequest
//! Status; the REST layer wraps them with `ApiError::bad_request`.

pub mod fields;
pub mod labels;
mod validation;

pub use fields::{check_supported, convert, field_value, FieldSelector};
pub use labels::{LabelSelector, Operator, Requirement};
