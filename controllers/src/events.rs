//! Recording core/v1 Events for what controllers do, as client-go's
//! EventRecorder does: `kubectl describe` lists them under "Events". A
//! repeat of the same event (same object, type, reason and message) bumps
//! the stored event's `count` and `lastTimestamp` instead of adding one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};

/// `Normal` or `Warning`, as upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// How many distinct events a recorder remembers for aggregation.
const MEMORY: usize = 4096;

/// Records events on behalf of one component (`deployment-controller`,
/// `default-scheduler`, `kubelet`, ...). Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: String,
    host: Option<String>,
    seen: Arc<Mutex<HashMap<String, (String, i32)>>>,
}

impl Recorder {
    pub fn new(client: Client, component: &str) -> Recorder {
        Recorder {
            client,
            component: component.to_string(),
            host: None,
            seen: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Events from a kubelet name their node as `source.host`.
    pub fn with_host(mut self, host: &str) -> Recorder {
        self.host = Some(host.to_string());
        self
    }

    /// Record an event about `obj`. Failures are logged, never returned:
    /// events are best effort, as upstream.
    pub async fn publish<K>(&self, obj: &K, kind: EventType, reason: &str, message: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = object_reference(obj);
        self.publish_ref(&reference, kind, reason, message).await
    }

    /// Record an event about the object `reference` names.
    pub async fn publish_ref(
        &self,
        reference: &ObjectReference,
        kind: EventType,
        reason: &str,
        message: &str,
    ) {
        if let Err(e) = self.record(reference, kind, reason, message).await {
            tracing::debug!(component = %self.component, reason, error = %e, "cannot record event");
        }
    }

    async fn record(
        &self,
        reference: &ObjectReference,
        kind: EventType,
        reason: &str,
        message: &str,
    ) -> kube::Result<()> {
        let ns = reference
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let key = format!(
            "{}/{}/{}/{}/{}/{}",
            reference.uid.as_deref().unwrap_or(""),
            reference.field_path.as_deref().unwrap_or(""),
            kind.as_str(),
            reason,
            message,
            ns
        );
        let now = jiff::Timestamp::now();
        let previous = self.lock().get(&key).cloned();
        if let Some((name, count)) = previous {
            let patch = serde_json::json!({
                "count": count + 1,
                "lastTimestamp": Time(now),
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.lock().insert(key, (name, count + 1));
                    return Ok(());
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let name = format!(
            "{}.{:x}",
            reference.name.as_deref().unwrap_or("unknown"),
            now.as_nanosecond()
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns),
                ..Default::default()
            },
            involved_object: reference.clone(),
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(kind.as_str().to_string()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: self.host.clone(),
            }),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone().unwrap_or_default()),
            ..Default::default()
        };
        api.create(&PostParams::default(), &event).await?;
        let mut seen = self.lock();
        if seen.len() >= MEMORY {
            seen.clear();
        }
        seen.insert(key, (name, 1));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, i32)>> {
        match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The `involvedObject` reference of an object.
pub fn object_reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).to_string()),
        kind: Some(K::kind(&()).to_string()),
        name: Some(obj.name_any()),
        namespace: obj.namespace(),
        uid: obj.uid(),
        resource_version: obj.resource_version(),
        field_path: None,
    }
}
