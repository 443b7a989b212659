//! REST handlers for every built-in resource (being written).

use actix_web::web;

/// Registers `/api/v1/...` and `/apis/{group}/{version}/...` resource routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
