//! Resource quantities and what a pod asks for: the arithmetic the
//! scheduler's fit check and the kubelet's QoS class share.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A quantity in thousandths of its unit (millicores for cpu, millibytes
/// for memory), rounded up as upstream's `MilliValue` does. `None` when
/// the text is no valid quantity.
pub fn milli(q: &str) -> Option<i128> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let (mantissa, scale): (&str, Scale) = match suffix {
        "" => (number, Scale::Dec(0)),
        "n" => (number, Scale::Dec(-9)),
        "u" => (number, Scale::Dec(-6)),
        "m" => (number, Scale::Dec(-3)),
        "k" => (number, Scale::Dec(3)),
        "M" => (number, Scale::Dec(6)),
        "G" => (number, Scale::Dec(9)),
        "T" => (number, Scale::Dec(12)),
        "P" => (number, Scale::Dec(15)),
        "E" => (number, Scale::Dec(18)),
        "Ki" => (number, Scale::Bin(10)),
        "Mi" => (number, Scale::Bin(20)),
        "Gi" => (number, Scale::Bin(30)),
        "Ti" => (number, Scale::Bin(40)),
        "Pi" => (number, Scale::Bin(50)),
        "Ei" => (number, Scale::Bin(60)),
        s if s.starts_with(['e', 'E']) => (number, Scale::Dec(s[1..].parse().ok()?)),
        _ => return None,
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole
        .chars()
        .chain(frac.chars())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    // value = int(whole frac) * 10^(-len(frac)) * scale * 1000
    let int: i128 = format!("{whole}{frac}").parse().ok()?;
    let mut num = int.checked_mul(1000)?;
    let mut den: i128 = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    match scale {
        Scale::Dec(e) if e >= 0 => num = num.checked_mul(10i128.checked_pow(e.unsigned_abs())?)?,
        Scale::Dec(e) => den = den.checked_mul(10i128.checked_pow(e.unsigned_abs())?)?,
        Scale::Bin(p) => num = num.checked_mul(1i128 << p)?,
    }
    let value = (num + den - 1) / den;
    Some(if negative { -value } else { value })
}

enum Scale {
    Dec(i32),
    Bin(u32),
}

/// Resource name -> amount in thousandths.
pub type Amounts = BTreeMap<String, i128>;

fn amounts(list: Option<&BTreeMap<String, Quantity>>) -> Amounts {
    list.into_iter()
        .flatten()
        .filter_map(|(k, v)| milli(&v.0).map(|m| (k.clone(), m)))
        .collect()
}

fn add(into: &mut Amounts, more: &Amounts) {
    for (k, v) in more {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn max_into(into: &mut Amounts, other: &Amounts) {
    for (k, v) in other {
        let e = into.entry(k.clone()).or_default();
        if *v > *e {
            *e = *v;
        }
    }
}

fn container_requests(c: &Container) -> Amounts {
    amounts(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
}

/// What a pod requests, as upstream's `PodRequests`: the sum over its
/// containers (sidecars included), or the largest init container if that
/// is more, plus the pod overhead.
pub fn pod_requests(spec: &PodSpec) -> Amounts {
    let mut sum = Amounts::new();
    for c in &spec.containers {
        add(&mut sum, &container_requests(c));
    }
    let mut sidecars = Amounts::new();
    let mut init_max = Amounts::new();
    for c in spec.init_containers.iter().flatten() {
        let req = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            add(&mut sidecars, &req);
            add(&mut sum, &req);
        } else {
            let mut with_sidecars = req.clone();
            add(&mut with_sidecars, &sidecars);
            max_into(&mut init_max, &with_sidecars);
        }
    }
    max_into(&mut sum, &init_max);
    add(&mut sum, &amounts(spec.overhead.as_ref()));
    sum
}

/// The requests the scheduler's spreading score counts: containers with no
/// cpu or memory request count as 100m cpu and 200Mi memory (upstream's
/// non-zero defaults), so that empty pods still spread.
pub fn scoring_requests(spec: &PodSpec) -> (i128, i128) {
    const CPU: i128 = 100;
    const MEM: i128 = 200 * 1024 * 1024 * 1000;
    let mut cpu = 0;
    let mut mem = 0;
    for c in &spec.containers {
        let r = container_requests(c);
        cpu += r.get("cpu").copied().filter(|v| *v > 0).unwrap_or(CPU);
        mem += r.get("memory").copied().filter(|v| *v > 0).unwrap_or(MEM);
    }
    (cpu, mem)
}

/// The pod's QoS class (`BestEffort`, `Burstable`, `Guaranteed`) from the
/// cpu and memory requests and limits of all its containers, as upstream.
pub fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = &pod.spec else {
        return "BestEffort";
    };
    let supported = |k: &str| k == "cpu" || k == "memory";
    let mut requests = Amounts::new();
    let mut limits = Amounts::new();
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let res = c.resources.as_ref();
        for (k, v) in amounts(res.and_then(|r| r.requests.as_ref())) {
            if supported(&k) && v != 0 {
                *requests.entry(k).or_default() += v;
            }
        }
        let lim = amounts(res.and_then(|r| r.limits.as_ref()));
        let mut seen = 0;
        for (k, v) in lim {
            if supported(&k) && v != 0 {
                seen += 1;
                *limits.entry(k).or_default() += v;
            }
        }
        if seen < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.iter().all(|(k, v)| limits.get(k) == Some(v)) {
        return "Guaranteed";
    }
    "Burstable"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_like_upstream() {
        assert_eq!(milli("4"), Some(4000));
        assert_eq!(milli("100m"), Some(100));
        assert_eq!(milli("0.5"), Some(500));
        assert_eq!(milli("1Ki"), Some(1024 * 1000));
        assert_eq!(milli("16Gi"), Some(16 * (1 << 30) * 1000));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("1k"), Some(1_000_000));
        assert_eq!(milli("1n"), Some(1));
        assert_eq!(milli("abc"), None);
        assert_eq!(milli("1Qi"), None);
        assert_eq!(milli(""), None);
    }

    fn pod(containers: serde_json::Value, init: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": containers, "initContainers": init}
        }))
        .expect("pod")
    }

    #[test]
    fn requests_take_the_larger_of_containers_and_init_containers() {
        let p = pod(
            serde_json::json!([
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
            ]),
            serde_json::json!([{"name": "i", "resources": {"requests": {"cpu": "1"}}}]),
        );
        let r = pod_requests(p.spec.as_ref().expect("spec"));
        assert_eq!(r.get("cpu"), Some(&1000));
        assert_eq!(r.get("memory"), Some(&(1024 * 1024 * 1000)));
    }

    #[test]
    fn qos_classes() {
        let best = pod(serde_json::json!([{"name": "a"}]), serde_json::json!([]));
        assert_eq!(qos_class(&best), "BestEffort");
        let burst = pod(
            serde_json::json!([{"name": "a", "resources": {"requests": {"cpu": "1"}}}]),
            serde_json::json!([]),
        );
        assert_eq!(qos_class(&burst), "Burstable");
        let guaranteed = pod(
            serde_json::json!([{"name": "a", "resources": {
                "requests": {"cpu": "1", "memory": "1Gi"},
                "limits": {"cpu": "1", "memory": "1Gi"}}}]),
            serde_json::json!([]),
        );
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
        let unequal = pod(
            serde_json::json!([{"name": "a", "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "1", "memory": "1Gi"}}}]),
            serde_json::json!([]),
        );
        assert_eq!(qos_class(&unequal), "Burstable");
    }
}
