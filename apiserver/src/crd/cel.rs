//! CEL validation rules of custom resources (filled in by the CEL work).
