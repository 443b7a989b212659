//! ferrokube's Kubernetes API server.
//!
//! Module ownership (one concept each):
//! - `error`: `ApiError`, rendered as `metav1.Status` at the HTTP edge.
//! - `resources`: the table of built-in resources.
//! - `discovery`, `openapi`: `/api`, `/apis`, aggregated discovery, `/openapi/v2`, `/openapi/v3`.
//! - `printers`: Table output (`as=Table`) per kind.
//! - `selectors`: label and field selectors.
//! - `strategy`: per-kind defaulting, validation, create/update preparation.
//! - everything else: the server, REST handlers, registry store, watch cache.

mod apiservices;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod cli;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod health;
pub mod kubeconfig;
pub mod metrics;
pub mod openapi;
pub mod patch;
pub mod printers;
pub mod query;
pub mod registry;
pub mod resources;
pub mod rest;
pub mod selectors;
pub mod server;
pub mod state;
pub mod strategy;
pub mod testenv;
pub mod tls;
pub mod tokens;
pub mod watchcache;
