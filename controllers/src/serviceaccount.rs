//! Not written yet.

use std::sync::Arc;

use crate::Context;

pub async fn run_service_accounts(_ctx: Arc<Context>) -> anyhow::Result<()> {
    std::future::pending().await
}

pub async fn run_root_ca(_ctx: Arc<Context>) -> anyhow::Result<()> {
    std::future::pending().await
}
