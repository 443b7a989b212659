//! Structural schemas of custom resources (filled in by the schema work).
