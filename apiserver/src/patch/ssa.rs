//! Server-side apply's merge of an applied configuration into the live
//! object (structured-merge-diff's merge, in our own words).

use serde_json::Value;

use crate::registry::shape::{key_value, ListType, Shape};

/// Merges an applied configuration into the live object following its
/// schema: objects merge field by field (atomic maps are replaced), lists
/// merge as their list type says (map: items by their keys; set: union;
/// atomic: replaced). Removing what the applier stopped applying is the
/// ownership step's job (`registry::apply`).
pub fn apply_merge(live: &Value, applied: &Value, shape: Shape<'_>) -> Value {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) if !shape.is_atomic_map() => {
            let mut out = l.clone();
            for (k, av) in a {
                if av.is_null() && !shape.field(k).is_nullable() {
                    // A null leaves the field unset, as decoding into the
                    // built-in types (or null pruning of custom resources)
                    // drops it.
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(lv) => apply_merge(lv, av, shape.field(k)),
                    None => av.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => match shape.list_type() {
            ListType::Set => Value::Array(merge_items(l, a, |v| v.clone(), |_, r| r.clone())),
            ListType::Map(keys) => {
                let items = shape.items();
                let id = |v: &Value| -> Value {
                    Value::Array(
                        keys.iter()
                            .map(|k| key_value(v, k).unwrap_or(Value::Null))
                            .collect(),
                    )
                };
                Value::Array(merge_items(l, a, id, |lv, av| apply_merge(lv, av, items)))
            }
            ListType::Atomic => applied.clone(),
        },
        _ => applied.clone(),
    }
}

/// structured-merge-diff's order for merged associative lists: live items
/// the applier does not name keep their places, named items follow the
/// applied order, new items come where the applied list has them.
fn merge_items(
    live: &[Value],
    applied: &[Value],
    id: impl Fn(&Value) -> Value,
    merge: impl Fn(&Value, &Value) -> Value,
) -> Vec<Value> {
    let lids: Vec<Value> = live.iter().map(&id).collect();
    let aids: Vec<Value> = applied.iter().map(&id).collect();
    let in_applied = |i: &Value| aids.contains(i);
    let live_of = |i: &Value| lids.iter().position(|l| l == i).map(|p| &live[p]);
    let mut shared: std::collections::VecDeque<&Value> =
        aids.iter().filter(|i| lids.contains(i)).collect();
    let mut out = Vec::with_capacity(live.len() + applied.len());
    let (mut li, mut ri) = (0, 0);
    while li < live.len() || ri < applied.len() {
        if li < live.len() && ri < applied.len() {
            if lids[li] == aids[ri] {
                out.push(merge(&live[li], &applied[ri]));
                li += 1;
                ri += 1;
                shared.pop_front();
                continue;
            }
            if in_applied(&lids[li]) && shared.front().is_some_and(|n| **n != lids[li]) {
                // A shared item, but not the next one in the applied order.
                li += 1;
                continue;
            }
        }
        if li < live.len() && !in_applied(&lids[li]) {
            out.push(live[li].clone());
            li += 1;
            continue;
        }
        if ri < applied.len() {
            let r = &applied[ri];
            out.push(match live_of(&aids[ri]) {
                Some(l) => merge(l, r),
                None => r.clone(),
            });
            if shared.front().is_some_and(|n| **n == aids[ri]) {
                shared.pop_front();
            }
            ri += 1;
        } else {
            // Only shared live items left, all already merged.
            li += 1;
        }
    }
    out
}

#[cfg(test)]
mod merge_order_tests {
    use super::*;
    use crate::openapi::extensions::kind_shape;
    use serde_json::json;

    #[test]
    fn applied_lists_merge_by_type_and_nulls_unset() {
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "a"}],
                                   "clusterIP": "10.0.0.1", "sessionAffinity": "None"}});
        let applied = json!({"spec": {"ports": [{"port": 80, "name": "b"}, {"port": 81}],
                                      "sessionAffinity": null}});
        let out = apply_merge(&live, &applied, kind_shape("", "v1", "Service"));
        assert_eq!(
            out,
            json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "b"}, {"port": 81}],
                            "clusterIP": "10.0.0.1"}})
        );
    }

    fn ids(l: &[Value], a: &[Value]) -> Vec<Value> {
        merge_items(l, a, |v| v.clone(), |_, r| r.clone())
    }

    #[test]
    fn live_only_items_keep_their_place_and_applied_order_wins() {
        let (a, b, c, d) = (json!("a"), json!("b"), json!("c"), json!("d"));
        assert_eq!(
            ids(std::slice::from_ref(&a), std::slice::from_ref(&b)),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            ids(
                &[a.clone(), b.clone(), c.clone()],
                &[c.clone(), a.clone(), d.clone()]
            ),
            vec![b.clone(), c.clone(), a.clone(), d.clone()]
        );
        assert_eq!(ids(&[], std::slice::from_ref(&a)), vec![a.clone()]);
        assert_eq!(ids(std::slice::from_ref(&a), &[]), vec![a]);
    }
}
