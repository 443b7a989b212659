const PB_NAMESPACE: &str = "6b3873000a0f0a02763112094e616d657370616365121b0a130a036e733112001a0022002a0032003800420012001a020a001a002200";
const PB_CONFIGMAP: &str = "6b3873000a0f0a0276311209436f6e6669674d617012250a130a03636d3112001a0022002a0032003800420012060a016112016212060a01631201641a002200";
const PB_QUOTA: &str = "6b3873000a130a027631120d5265736f7572636551756f746112250a120a02713112001a0022002a00320038004200120d0a0b0a04706f647312030a01321a001a002200";
const PB_SECRET: &str = "6b3873000a0c0a0276311206536563726574121e0a120a02733112001a0022002a0032003800420012060a016b1201761a001a002200";
const PB_SERVICEACCOUNT: &str = "6b3873000a140a027631120e536572766963654163636f756e7412150a130a0373613112001a0022002a003200380042001a002200";
const PB_SERVICE: &str = "6b3873000a0d0a027631120753657276696365126c0a210a047376633112001a0022002a003200380042005a0b0a0361707012047376633112430a1b0a0738302d38303830120354435018502207080010903f1a002800120b0a036170701204737663311a002209436c757374657249503a00420052005a00600068001a020a001a002200";
const PB_DEPLOYMENT: &str = "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412a7010a1d0a02643112001a0022002a003200380042005a090a036170701202643112780801120b0a090a03617070120264311a5f0a1b0a0012001a0022002a003200380042005a090a0361707012026431124012220a056e67696e7812056e67696e782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200";
const PB_CRONJOB: &str = "6b3873000a130a0862617463682f7631120743726f6e4a6f6212a1010a130a03636a3112001a0022002a003200380042001287010a0b2a2f315f2a5f2a5f2a5f2a1a002a760a130a03636a3112001a0022002a00320038004200125f325d0a100a0012001a0022002a00320038004200124912220a03636a31120762757379626f782a0042006a007200800100880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a0100c201001a001a002200";
const PB_JOB: &str = "6b3873000a0f0a0862617463682f763112034a6f62127a0a120a026a3112001a0022002a00320038004200125a32580a100a0012001a0022002a00320038004200124412210a026a31120762757379626f782a0042006a007200800100880100900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200";
const PB_PDB: &str = "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412380a140a047064623112001a0022002a0032003800420012140a06080010011a00120a0a080a036170701201781a0a080018002000280030001a002200";
const PB_CLUSTERROLEBINDING: &str = "6b3873000a320a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311212436c7573746572526f6c6542696e64696e67126d0a140a046372623112001a0022002a0032003800420012260a04557365721219726261632e617574686f72697a6174696f6e2e6b38732e696f1a017522001a2d0a19726261632e617574686f72697a6174696f6e2e6b38732e696f120b436c7573746572526f6c651a036372311a002200";
const PB_PRIORITYCLASS: &str = "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c61737312310a130a0370633112001a0022002a00320038004200100a180022002a14507265656d70744c6f7765725072696f726974791a002200";

fn decoded(hexed: &str) -> serde_json::Value {
    decode(&hex(hexed)).unwrap()
}

#[test]
fn kubectl_create_configmap_secret_namespace() {
    assert_eq!(
        decoded(PB_CONFIGMAP),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"},
               "data": {"a": "b", "c": "d"}})
    );
    assert_eq!(
        decoded(PB_SECRET),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
               "data": {"k": "dg=="}})
    );
    assert_eq!(
        decoded(PB_NAMESPACE),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}})
    );
    assert_eq!(
        decoded(PB_SERVICEACCOUNT),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1"}})
    );
}

#[test]
fn kubectl_create_workloads() {
    let d = decoded(PB_DEPLOYMENT);
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["selector"], json!({"matchLabels": {"app": "d1"}}));
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx"}])
    );
    assert_eq!(d["metadata"]["labels"], json!({"app": "d1"}));
    let j = decoded(PB_JOB);
    assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
    let cj = decoded(PB_CRONJOB);
    assert_eq!(cj["spec"]["schedule"], "*/1_*_*_*_*");
    assert_eq!(
        cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox"
    );
}

#[test]
fn kubectl_create_service_rbac_quota_priority_pdb() {
    let s = decoded(PB_SERVICE);
    assert_eq!(
        s["spec"]["ports"],
        json!([{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}])
    );
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["selector"], json!({"app": "svc1"}));
    let b = decoded(PB_CLUSTERROLEBINDING);
    assert_eq!(
        b["subjects"],
        json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u"}])
    );
    assert_eq!(b["roleRef"]["name"], "cr1");
    assert_eq!(decoded(PB_QUOTA)["spec"]["hard"], json!({"pods": "2"}));
    let pc = decoded(PB_PRIORITYCLASS);
    assert_eq!(pc["value"], 10);
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    let pdb = decoded(PB_PDB);
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], json!({"app": "x"}));
}

const PB_INGRESS: &str = "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e6772657373124a0a140a04696e673112001a0022002a00320038004200122e1a2c0a07666f6f2e636f6d12210a1f0a1d0a042f626172120e220c0a047376633112040a0010501a0545786163741a020a001a002200";

#[test]
fn kubectl_create_ingress_inlines_the_rule_value() {
    let i = decoded(PB_INGRESS);
    assert_eq!(
        i["spec"]["rules"],
        json!([{"host": "foo.com", "http": {"paths": [{"path": "/bar", "pathType": "Exact",
            "backend": {"service": {"name": "svc1", "port": {"number": 80}}}}]}}])
    );
}
