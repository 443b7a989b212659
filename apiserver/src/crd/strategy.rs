//! The strategy of a custom resource: defaulting from its schema, status
//! kept apart when the status subresource is on, object-meta rules, schema
//! validation and CEL rules (apiextensions-apiserver's `customResourceStrategy`).

use serde_json::Value;

use super::served::Served;
use super::{cel, schema};
use crate::strategy::{
    names, validate_object_meta, validate_object_meta_update, FieldError, Strategy,
};

impl Served {
    /// Schema validation, then the CEL rules (skipped, with upstream's
    /// message, when the schema errors would make them meaningless).
    fn validate_content(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errs = match (&self.schema, old) {
            (Some(s), Some(old)) => schema::validate_update(s, obj, old),
            (Some(s), None) => schema::validate(s, obj),
            (None, _) => Vec::new(),
        };
        if let Some(raw) = self.raw_schema.as_ref().filter(|_| self.has_rules) {
            match cel::blocking_error(&errs) {
                Some(blocked) => errs.push(blocked),
                None => errs.extend(cel::validate(raw, obj, old)),
            }
        }
        errs
    }
}

impl Strategy for Served {
    fn default(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            schema::apply_defaults(s, obj);
        }
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        if self.status {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta(obj, self.namespaced, names::name_is_dns_subdomain);
        errs.extend(self.validate_content(obj, None));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_object_meta_update(new, old);
        errs.extend(self.validate_content(new, Some(old)));
        errs
    }

    fn generation_tracked(&self) -> bool {
        true
    }

    fn namespaced(&self) -> bool {
        self.namespaced
    }
}
