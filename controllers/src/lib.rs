//! ferrokube's built-in controllers (Deployment, ReplicaSet, Job, garbage collection,
//! namespaces, a scheduler, simulated nodes) and the runtime that hosts them and user
//! operators, as kube-runtime reconcilers talking to the server over its own API.
//!
//! Not written yet: see the project's issue on built-in controllers.
