//! Lists served from the watch cache, through the real binary: consistent
//! reads see every acknowledged write, pages keep the revision of their first
//! page across writes, `remainingItemCount` as upstream sets it, selectors,
//! `resourceVersion=0`, `resourceVersionMatch=Exact` at a past revision.

use conformance::{get_raw, request, Server};
use serde_json::{json, Value};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn get_json(client: &kube::Client, path: &str) -> Value {
    let (code, body) = get_raw(client, path).await.expect("request");
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

async fn create_cm(client: &kube::Client, name: &str, labels: Value) -> Value {
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": name},
    });
    let (code, text) = request(
        client,
        "POST",
        CMS,
        Some("application/json"),
        serde_json::to_vec(&body).expect("encode"),
    )
    .await
    .expect("create");
    assert_eq!(code, 201, "create {name}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

async fn delete_cm(client: &kube::Client, name: &str) {
    let (code, text) = request(client, "DELETE", &format!("{CMS}/{name}"), None, Vec::new())
        .await
        .expect("delete");
    assert_eq!(code, 200, "delete {name}: {text}");
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion: {obj}"))
}

#[tokio::test]
async fn a_consistent_list_sees_each_write_at_once() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    // Fill the cache first, so that the lists below are served from it.
    get_json(&c, CMS).await;
    for i in 0..30 {
        let created = create_cm(&c, &format!("cm-{i:02}"), json!({})).await;
        let list = get_json(&c, CMS).await;
        assert!(
            names(&list).contains(&format!("cm-{i:02}")),
            "cm-{i:02} missing right after its create: {:?}",
            names(&list)
        );
        assert!(rv(&list) >= rv(&created), "list older than the write");
        // A write to another resource moves the store's revision too; a
        // consistent list must still answer (at a revision at least that).
        let (code, text) = request(
            &c,
            "POST",
            "/api/v1/namespaces/default/secrets",
            Some("application/json"),
            serde_json::to_vec(&json!({"metadata": {"name": format!("s-{i}")}})).expect("json"),
        )
        .await
        .expect("secret");
        assert_eq!(code, 201, "{text}");
        let secret_rv: u64 = serde_json::from_str::<Value>(&text)
            .map(|v| rv(&v))
            .expect("secret JSON");
        let list = get_json(&c, CMS).await;
        assert!(
            rv(&list) >= secret_rv,
            "consistent list at {} before the acknowledged write at {secret_rv}",
            rv(&list)
        );
    }
}

#[tokio::test]
async fn pages_keep_the_first_pages_revision_across_writes() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    for i in 0..5 {
        create_cm(&c, &format!("p-{i}"), json!({"set": "pages"})).await;
    }
    let page1 = get_json(&c, &format!("{CMS}?limit=2")).await;
    assert_eq!(names(&page1), ["p-0", "p-1"]);
    assert_eq!(page1["metadata"]["remainingItemCount"], 3, "{page1}");
    let token = page1["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_string();
    let first_rv = rv(&page1);

    // Writes between the pages: a new object, a deleted one, a changed one.
    create_cm(&c, "p-5", json!({"set": "pages"})).await;
    delete_cm(&c, "p-3").await;
    let (code, text) = request(
        &c,
        "PATCH",
        &format!("{CMS}/p-2"),
        Some("application/merge-patch+json"),
        br#"{"data":{"k":"changed"}}"#.to_vec(),
    )
    .await
    .expect("patch");
    assert_eq!(code, 200, "{text}");

    let page2 = get_json(&c, &format!("{CMS}?limit=2&continue={token}")).await;
    assert_eq!(names(&page2), ["p-2", "p-3"], "page 2 shows the old state");
    assert_eq!(page2["items"][0]["data"]["k"], "p-2", "{page2}");
    assert_eq!(rv(&page2), first_rv);
    assert_eq!(page2["metadata"]["remainingItemCount"], 1, "{page2}");
    let token = page2["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_string();
    let page3 = get_json(&c, &format!("{CMS}?limit=2&continue={token}")).await;
    assert_eq!(names(&page3), ["p-4"]);
    assert_eq!(rv(&page3), first_rv);
    assert!(page3["metadata"].get("continue").is_none(), "{page3}");
    assert!(
        page3["metadata"].get("remainingItemCount").is_none(),
        "{page3}"
    );

    // A fresh list shows the new state.
    let now = get_json(&c, CMS).await;
    assert_eq!(names(&now), ["p-0", "p-1", "p-2", "p-4", "p-5"]);
    assert!(now["metadata"].get("remainingItemCount").is_none());
}

#[tokio::test]
async fn selectors_filter_and_leave_the_count_out() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    for i in 0..6 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        create_cm(&c, &format!("s-{i}"), json!({"parity": parity})).await;
    }
    let even = get_json(&c, &format!("{CMS}?labelSelector=parity%3Deven")).await;
    assert_eq!(names(&even), ["s-0", "s-2", "s-4"]);
    let page = get_json(&c, &format!("{CMS}?labelSelector=parity%3Dodd&limit=2")).await;
    assert_eq!(names(&page), ["s-1", "s-3"]);
    assert!(page["metadata"]["continue"].is_string(), "{page}");
    // Upstream counts what remains only for lists without selectors.
    assert!(
        page["metadata"].get("remainingItemCount").is_none(),
        "{page}"
    );
    let token = page["metadata"]["continue"].as_str().unwrap_or("");
    let rest = get_json(
        &c,
        &format!("{CMS}?labelSelector=parity%3Dodd&limit=2&continue={token}"),
    )
    .await;
    assert_eq!(names(&rest), ["s-5"]);
    let notin = get_json(&c, &format!("{CMS}?labelSelector=parity+notin+(odd)")).await;
    assert_eq!(names(&notin), ["s-0", "s-2", "s-4"]);
    let one = get_json(&c, &format!("{CMS}?fieldSelector=metadata.name%3Ds-3")).await;
    assert_eq!(names(&one), ["s-3"]);
    let none = get_json(&c, &format!("{CMS}?labelSelector=parity%3Dnone")).await;
    assert!(names(&none).is_empty());
    // Built-in lists carry no apiVersion/kind on their items.
    assert!(one["items"][0].get("kind").is_none(), "{one}");
    assert_eq!(one["kind"], "ConfigMapList");
    assert_eq!(one["apiVersion"], "v1");
}

#[tokio::test]
async fn resource_version_zero_lists_everything_and_ignores_the_limit() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    let mut last = 0;
    for i in 0..4 {
        last = rv(&create_cm(&c, &format!("z-{i}"), json!({})).await);
    }
    // Any state will do for "0"; the cache catches up quickly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list = get_json(&c, &format!("{CMS}?resourceVersion=0&limit=2")).await;
        if rv(&list) >= last {
            assert_eq!(names(&list), ["z-0", "z-1", "z-2", "z-3"]);
            assert!(list["metadata"].get("continue").is_none(), "{list}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cache never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // NotOlderThan a revision the cache has: at least that one.
    let list = get_json(
        &c,
        &format!("{CMS}?resourceVersion={last}&resourceVersionMatch=NotOlderThan&limit=3"),
    )
    .await;
    assert!(rv(&list) >= last);
    assert_eq!(names(&list), ["z-0", "z-1", "z-2"]);
    assert_eq!(list["metadata"]["remainingItemCount"], 1, "{list}");
}

#[tokio::test]
async fn exact_lists_show_a_past_revision() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    // The cache starts before the writes, so its window holds them all.
    get_json(&c, CMS).await;
    create_cm(&c, "e-a", json!({})).await;
    let at = rv(&create_cm(&c, "e-b", json!({})).await);
    create_cm(&c, "e-c", json!({})).await;
    delete_cm(&c, "e-a").await;
    let (code, text) = request(
        &c,
        "PATCH",
        &format!("{CMS}/e-b"),
        Some("application/merge-patch+json"),
        br#"{"data":{"k":"later"}}"#.to_vec(),
    )
    .await
    .expect("patch");
    assert_eq!(code, 200, "{text}");

    let then = get_json(
        &c,
        &format!("{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(rv(&then), at);
    assert_eq!(names(&then), ["e-a", "e-b"]);
    assert_eq!(then["items"][1]["data"]["k"], "e-b", "{then}");
    assert_eq!(rv(&then["items"][1]), at, "{then}");
    // A legacy paginated list at a version reads at exactly it too.
    let legacy = get_json(&c, &format!("{CMS}?resourceVersion={at}&limit=1")).await;
    assert_eq!(rv(&legacy), at);
    assert_eq!(names(&legacy), ["e-a"]);
    assert_eq!(legacy["metadata"]["remainingItemCount"], 1, "{legacy}");
    let now = get_json(&c, CMS).await;
    assert_eq!(names(&now), ["e-b", "e-c"]);
    assert_eq!(now["items"][0]["data"]["k"], "later");
}

#[tokio::test]
async fn bad_and_future_continue_tokens_are_refused() {
    let s = Server::start_with(&["--controllers=", "--nodes=0"]).expect("server");
    let c = s.client().await;
    create_cm(&c, "t-0", json!({})).await;
    create_cm(&c, "t-1", json!({})).await;
    let (code, body) = get_raw(&c, &format!("{CMS}?limit=1&continue=garbage"))
        .await
        .expect("request");
    assert_eq!(code, 400, "{body}");
    // resourceVersion with continue is refused, as upstream.
    let page = get_json(&c, &format!("{CMS}?limit=1")).await;
    let token = page["metadata"]["continue"]
        .as_str()
        .unwrap_or("x")
        .to_string();
    let (code, body) = get_raw(
        &c,
        &format!("{CMS}?limit=1&continue={token}&resourceVersion=5"),
    )
    .await
    .expect("request");
    assert_eq!(code, 400, "{body}");
}
