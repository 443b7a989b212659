//! The per-kind strategy hooks, called in upstream's order
//! (`rest.BeforeCreate`, `rest.BeforeUpdate`).

use serde_json::Value;

use crate::error::ApiResult;
use crate::registry::meta;
use crate::resources::ResourceInfo;
use crate::strategy::{self, Strategy};

pub fn strategy(info: &ResourceInfo) -> &'static dyn Strategy {
    if let Some(custom) = info.custom {
        return custom;
    }
    strategy::for_kind(info.group, info.kind, info.namespaced)
}

pub fn tracks_generation(info: &ResourceInfo) -> bool {
    strategy(info).generation_tracked()
}

fn check(info: &ResourceInfo, obj: &Value, errs: Vec<strategy::FieldError>) -> ApiResult<()> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(strategy::to_api_error(
            info.kind,
            info.group,
            meta::name(obj),
            &errs,
        ))
    }
}

/// Defaulting and create preparation; validation is [`validate_create`].
pub fn prepare_create(info: &ResourceInfo, obj: &mut Value) {
    let s = strategy(info);
    s.default(obj);
    s.prepare_for_create(obj);
}

pub fn validate_create(info: &ResourceInfo, obj: &Value) -> ApiResult<()> {
    check(info, obj, strategy(info).validate(obj))
}

/// Defaulting and update preparation of the main resource.
pub fn prepare_update(info: &ResourceInfo, new: &mut Value, old: &Value) {
    let s = strategy(info);
    s.default(new);
    s.prepare_for_update(new, old);
}

pub fn validate_update(info: &ResourceInfo, new: &Value, old: &Value) -> ApiResult<()> {
    check(info, new, strategy(info).validate_update(new, old))
}

/// Warnings about an object just written, for the `Warning` header.
pub fn warnings(info: &ResourceInfo, obj: &Value) -> Vec<String> {
    strategy(info).warnings(obj)
}
