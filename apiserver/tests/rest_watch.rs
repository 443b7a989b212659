//! Watches served from the watch cache: initial state, resume, selectors,
//! bookmarks for streaming lists, too-old resource versions.

#![allow(clippy::unwrap_used)]

mod rest_common;

use rest_common::*;
use serde_json::json;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[actix_web::test]
async fn watch_sends_initial_state_then_changes() {
    let h = harness().await;
    let app = app!(h);
    let (_, _, a) = send!(app, json_req("POST", CMS, Some(&configmap("a", &[]))));

    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("{CMS}?watch=true"), None).to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut events = Lines::new(resp.into_body());
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["name"], "a");
    assert_eq!(ev["object"]["kind"], "ConfigMap");

    let mut upd = a.clone();
    upd["data"] = json!({"x": "1"});
    let (code, _, _) = send!(app, json_req("PUT", &format!("{CMS}/a"), Some(&upd)));
    assert_eq!(code, 200);
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "MODIFIED");
    assert_eq!(ev["object"]["data"]["x"], "1");

    let (code, _, _) = send!(app, json_req("DELETE", &format!("{CMS}/a"), None));
    assert_eq!(code, 200);
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "DELETED");
    assert_eq!(ev["object"]["metadata"]["name"], "a");
}

#[actix_web::test]
async fn watch_resumes_after_a_resource_version() {
    let h = harness().await;
    let app = app!(h);
    let (_, _, a) = send!(app, json_req("POST", CMS, Some(&configmap("a", &[]))));
    let rv = a["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, _) = send!(app, json_req("POST", CMS, Some(&configmap("b", &[]))));

    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("{CMS}?watch=1&resourceVersion={rv}"), None).to_request(),
    )
    .await;
    let mut events = Lines::new(resp.into_body());
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(
        ev["object"]["metadata"]["name"], "b",
        "a is before the requested version"
    );
}

#[actix_web::test]
async fn label_selected_watch_sees_objects_leave_and_enter() {
    let h = harness().await;
    let app = app!(h);
    let mut cm = configmap("a", &[]);
    cm["metadata"]["labels"] = json!({"app": "x"});
    let (_, _, created) = send!(app, json_req("POST", CMS, Some(&cm)));
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("/api/v1/watch/namespaces/default/configmaps?labelSelector=app%3Dx&resourceVersion={rv}"), None).to_request(),
    )
    .await;
    let mut events = Lines::new(resp.into_body());
    let url = format!("{CMS}/a");
    let (code, _, _) = send!(
        app,
        raw_req(
            "PATCH",
            &url,
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"app":"y"}}}"#
        )
    );
    assert_eq!(code, 200);
    let (code, _, _) = send!(
        app,
        raw_req(
            "PATCH",
            &url,
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"app":"x"}}}"#
        )
    );
    assert_eq!(code, 200);
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "DELETED");
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["labels"]["app"], "x");
}

#[actix_web::test]
async fn streaming_list_ends_initial_events_with_a_bookmark() {
    let h = harness().await;
    let app = app!(h);
    send!(app, json_req("POST", CMS, Some(&configmap("a", &[]))));
    send!(app, json_req("POST", CMS, Some(&configmap("b", &[]))));
    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("{CMS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"), None).to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut events = Lines::new(resp.into_body());
    assert_eq!(events.next().await.unwrap()["type"], "ADDED");
    assert_eq!(events.next().await.unwrap()["type"], "ADDED");
    let bm = events.next().await.unwrap();
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(
        bm["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(bm["object"]["metadata"]["resourceVersion"]
        .as_str()
        .is_some());

    // Without allowWatchBookmarks the request is invalid.
    let (code, _, e) = send!(
        app,
        json_req(
            "GET",
            &format!("{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"),
            None
        )
    );
    assert_eq!(code, 422, "{e}");
}

#[actix_web::test]
async fn too_old_resource_version_is_an_error_event() {
    let h = harness().await;
    let app = app!(h);
    for i in 0..3 {
        send!(
            app,
            json_req("POST", CMS, Some(&configmap(&format!("c{i}"), &[])))
        );
    }
    let current = openraft_store::Store::current_revision(h.store.as_ref())
        .await
        .unwrap();
    openraft_store::Store::compact(h.store.as_ref(), current)
        .await
        .unwrap();
    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("{CMS}?watch=1&resourceVersion=1"), None).to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut events = Lines::new(resp.into_body());
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Gone");
    assert!(ev["object"]["message"]
        .as_str()
        .unwrap()
        .starts_with("too old resource version: 1 ("));
    assert!(events.next().await.is_none());
}

#[actix_web::test]
async fn watch_ends_at_its_timeout() {
    let h = harness().await;
    let app = app!(h);
    send!(app, json_req("POST", CMS, Some(&configmap("a", &[]))));
    let resp = actix_web::test::call_service(
        &app,
        json_req("GET", &format!("{CMS}?watch=1&timeoutSeconds=1"), None).to_request(),
    )
    .await;
    let mut events = Lines::new(resp.into_body());
    assert_eq!(events.next().await.unwrap()["type"], "ADDED");
    assert!(events.next().await.is_none(), "the stream ends");
}

#[actix_web::test]
async fn table_watch_sends_rows() {
    let h = harness().await;
    let app = app!(h);
    send!(
        app,
        json_req("POST", CMS, Some(&configmap("a", &[("k", "v")])))
    );
    let req = json_req("GET", &format!("{CMS}?watch=1"), None).insert_header((
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    ));
    let resp = actix_web::test::call_service(&app, req.to_request()).await;
    let mut events = Lines::new(resp.into_body());
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["kind"], "Table");
    assert_eq!(ev["object"]["rows"][0]["cells"][0], "a");
    assert!(ev["object"]["columnDefinitions"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
}
