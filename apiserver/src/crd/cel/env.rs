//! The CEL environment rules compile and run in: cel-rust's standard
//! library, its strings and lists extensions, and the Kubernetes libraries
//! of [`super::library`]. Built once.

use cel::Env;
use std::sync::{Arc, OnceLock};

/// The shared environment, or why it could not be built (a bug: every
/// declaration is static).
pub(super) fn env() -> Result<Arc<Env>, String> {
    static ENV: OnceLock<Result<Arc<Env>, String>> = OnceLock::new();
    ENV.get_or_init(|| build().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
}

fn build() -> Result<Env, cel::DeclarationError> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)?;
    env.add_extension(cel::extensions::lists)?;
    super::library::register(&mut env)?;
    Ok(env)
}
