//! Not written yet.

use std::sync::Arc;

use crate::Context;

pub async fn run_endpoints(_ctx: Arc<Context>) -> anyhow::Result<()> {
    std::future::pending().await
}

pub async fn run_endpoint_slices(_ctx: Arc<Context>) -> anyhow::Result<()> {
    std::future::pending().await
}
