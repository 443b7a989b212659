//! Table output: what kube-apiserver answers to
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (kubectl get).
//!
//! One module per API group holds its kinds' columns and row functions, the
//! same columns, cell values and wide (`priority: 1`) columns as upstream's
//! `pkg/printers/internalversion/printers.go`. The server always generates
//! every column (wide included); kubectl hides priority-1 columns unless
//! `-o wide`. Kinds without a printer get upstream's default table (`Name`,
//! `Created At`).
//!
//! Custom resources: [`CustomColumns`] builds the columns and rows of a CRD
//! version's `additionalPrinterColumns`; [`build_table`] assembles any Table
//! from [`Column`]s and rows.

mod admissionregistration;
mod apiregistration;
mod apps;
mod autoscaling;
mod batch;
mod certificates;
mod coordination;
mod core;
pub mod custom;
mod discovery;
mod docs;
mod format;
mod networking;
mod policy;
pub mod quantity;
mod rbac;
mod scheduling;
mod storage;

use jiff::Timestamp;
use serde_json::{json, Map, Value};

pub use custom::CustomColumns;
pub use format::{human_duration, translate_timestamp_since};

/// `?includeObject=`: what each row carries in `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` with the object's metadata (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; empty means the default, an unknown value
    /// is `None` for the caller to reject (upstream's table options
    /// validation: `includeObject: Unsupported value: ...`, 400).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "Metadata" => Some(IncludeObject::Metadata),
            "None" => Some(IncludeObject::None),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

/// A `TableColumnDefinition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub type_: String,
    /// OpenAPI format; `name` marks the column holding the object's name.
    pub format: String,
    pub description: String,
    /// 0 = always shown, 1 = shown with `-o wide`.
    pub priority: i32,
}

impl Column {
    pub fn new(name: &str, type_: &str, description: &str) -> Self {
        Column {
            name: name.to_string(),
            type_: type_.to_string(),
            format: String::new(),
            description: description.to_string(),
            priority: 0,
        }
    }

    /// A `string` column.
    pub fn string(name: &str, description: &str) -> Self {
        Self::new(name, "string", description)
    }

    /// An `integer` column.
    pub fn integer(name: &str, description: &str) -> Self {
        Self::new(name, "integer", description)
    }

    /// A `boolean` column.
    pub fn boolean(name: &str, description: &str) -> Self {
        Self::new(name, "boolean", description)
    }

    /// The usual first column: `Name`, format `name`.
    pub fn name() -> Self {
        Self::string("Name", docs::NAME).with_format("name")
    }

    /// The usual `Age` column.
    pub fn age() -> Self {
        Self::string("Age", docs::CREATED)
    }

    /// The wide `Containers` column of kinds with a pod template.
    pub fn containers() -> Self {
        Self::string("Containers", "Names of each container in the template.").wide()
    }

    /// The wide `Images` column of kinds with a pod template.
    pub fn images() -> Self {
        Self::string(
            "Images",
            "Images referenced by each container in the template.",
        )
        .wide()
    }

    pub fn with_format(mut self, format: &str) -> Self {
        self.format = format.to_string();
        self
    }

    /// Marks the column as wide-only (`priority: 1`).
    pub fn wide(mut self) -> Self {
        self.priority = 1;
        self
    }

    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// One `TableRow` before the object is attached: its cells (one per column)
/// and optional `conditions` (`Completed` for finished pods).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub cells: Vec<Value>,
    pub conditions: Vec<Value>,
}

impl Row {
    pub fn new(cells: Vec<Value>) -> Self {
        Row {
            cells,
            conditions: Vec::new(),
        }
    }
}

/// A kind's columns and the function computing a row from an object.
pub struct Printer {
    pub columns: Vec<Column>,
    pub row: fn(&Value, Timestamp) -> Row,
}

/// The printer for a built-in kind, or the default one (`Name`, `Created At`).
pub fn printer(group: &str, kind: &str) -> Printer {
    let found = match group {
        "" => core::printer(kind),
        "apps" => apps::printer(kind),
        "batch" => batch::printer(kind),
        "autoscaling" => autoscaling::printer(kind),
        "coordination.k8s.io" => coordination::printer(kind),
        "discovery.k8s.io" => discovery::printer(kind),
        "events.k8s.io" => core::events_v1_printer(kind),
        "networking.k8s.io" => networking::printer(kind),
        "policy" => policy::printer(kind),
        "rbac.authorization.k8s.io" => rbac::printer(kind),
        "storage.k8s.io" => storage::printer(kind),
        "scheduling.k8s.io" => scheduling::printer(kind),
        "admissionregistration.k8s.io" => admissionregistration::printer(kind),
        "apiregistration.k8s.io" => apiregistration::printer(kind),
        "certificates.k8s.io" => certificates::printer(kind),
        _ => None,
    };
    found.unwrap_or_else(default_printer)
}

/// upstream's default table convertor: name and creation time (RFC 3339).
pub fn default_printer() -> Printer {
    Printer {
        columns: vec![
            Column::name(),
            Column::new("Created At", "date", docs::CREATED),
        ],
        row: |obj, _| {
            Row::new(vec![
                json!(format::name(obj)),
                json!(format::created_at(obj)),
            ])
        },
    }
}

/// The column definitions of a kind.
pub fn columns(group: &str, kind: &str) -> Vec<Column> {
    printer(group, kind).columns
}

/// The row of one object of a kind.
pub fn row(group: &str, kind: &str, obj: &Value, now: Timestamp) -> Row {
    (printer(group, kind).row)(obj, now)
}

/// What a row carries in `object` for `include`.
pub fn row_object(obj: &Value, include: IncludeObject) -> Option<Value> {
    match include {
        IncludeObject::None => None,
        IncludeObject::Object => Some(obj.clone()),
        IncludeObject::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })),
    }
}

/// Assembles a `meta.k8s.io/v1` Table from columns and (row, object) pairs.
/// Without headers (`include_headers == false`, later watch events)
/// `columnDefinitions` is null, as upstream sends it.
pub fn build_table<'a>(
    columns: &[Column],
    rows: impl IntoIterator<Item = (Row, &'a Value)>,
    include: IncludeObject,
    metadata: Value,
    include_headers: bool,
) -> Value {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(row, obj)| {
            let mut r = Map::new();
            r.insert("cells".into(), Value::Array(row.cells));
            if !row.conditions.is_empty() {
                r.insert("conditions".into(), Value::Array(row.conditions));
            }
            if let Some(o) = row_object(obj, include) {
                r.insert("object".into(), o);
            }
            Value::Object(r)
        })
        .collect();
    let defs = if include_headers {
        Value::Array(columns.iter().map(Column::to_json).collect())
    } else {
        Value::Null
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": defs,
        "rows": rows,
    })
}

/// The Table for a list of objects of a built-in kind. `list_metadata` is
/// the list's metadata (`resourceVersion`, `continue`,
/// `remainingItemCount`).
pub fn table(
    group: &str,
    kind: &str,
    objects: &[Value],
    include: IncludeObject,
    list_metadata: Value,
    now: Timestamp,
) -> Value {
    let p = printer(group, kind);
    let rows = objects.iter().map(|o| ((p.row)(o, now), o));
    build_table(&p.columns, rows, include, list_metadata, true)
}

/// The Table for one object (a get by name, or one watch event): one row,
/// `metadata.resourceVersion` taken from the object.
pub fn object_table(
    group: &str,
    kind: &str,
    object: &Value,
    include: IncludeObject,
    now: Timestamp,
    include_headers: bool,
) -> Value {
    let p = printer(group, kind);
    let mut metadata = Map::new();
    if let Some(rv) = object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
    build_table(
        &p.columns,
        [((p.row)(object, now), object)],
        include,
        Value::Object(metadata),
        include_headers,
    )
}

#[cfg(test)]
mod tests;
