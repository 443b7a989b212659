//! Lists past a compaction: a continue token or an Exact revision the store
//! compacted away is 410 Gone, even while the watch cache still holds that
//! revision. (The binary compacts every 5 minutes; here the store is asked
//! to compact at once.)

#![allow(clippy::unwrap_used)]

mod rest_common;

use openraft_store::{Revision, Store};
use rest_common::*;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[actix_web::test]
async fn compacted_continue_tokens_and_exact_revisions_are_gone() {
    let h = harness().await;
    let app = app!(h);
    for i in 0..3 {
        let (code, _, cm) = send!(
            app,
            json_req("POST", CMS, Some(&configmap(&format!("cm{i}"), &[])))
        );
        assert_eq!(code, 201, "{cm}");
    }
    let (code, _, page1) = send!(app, json_req("GET", &format!("{CMS}?limit=1"), None));
    assert_eq!(code, 200, "{page1}");
    assert_eq!(page1["metadata"]["remainingItemCount"], 2, "{page1}");
    let token = page1["metadata"]["continue"].as_str().unwrap().to_string();
    let at: u64 = page1["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // Before the compaction the token works (from the cache).
    let (code, _, page2) = send!(
        app,
        json_req("GET", &format!("{CMS}?limit=1&continue={token}"), None)
    );
    assert_eq!(code, 200, "{page2}");
    assert_eq!(page2["items"][0]["metadata"]["name"], "cm1");

    let (code, _, _) = send!(app, json_req("POST", CMS, Some(&configmap("later", &[]))));
    assert_eq!(code, 201);
    let now = h.store.current_revision().await.unwrap();
    h.store.compact(now).await.unwrap();
    assert!(Revision(at) < now);

    let (code, _, gone) = send!(
        app,
        json_req("GET", &format!("{CMS}?limit=1&continue={token}"), None)
    );
    assert_eq!(code, 410, "{gone}");
    assert_eq!(gone["reason"], "Expired", "{gone}");
    let (code, _, gone) = send!(
        app,
        json_req(
            "GET",
            &format!("{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"),
            None
        )
    );
    assert_eq!(code, 410, "{gone}");
}
