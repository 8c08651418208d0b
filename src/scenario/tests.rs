use super::*;

const KR: &str = r#"
name = "kr"
seed = 7
[file]
size = "450 MB"
[server]
upload = "1.25 MB/s"
[[peers]]
count = 30
upload = "125 kB/s"
download = "10 MB/s"
"#;

#[test]
fn defaults_and_units() {
    let s = Scenario::from_toml(KR, "kr.toml", &[]).unwrap();
    assert_eq!(s.file_bytes, 450_000_000);
    assert_eq!(s.chunk_bytes, 262_144, "default chunk is 256 KiB");
    // ceil(450e6 / 262144) = 1717 chunks, the last one 450e6 - 1716 * 262144 = 450e6 - 449_839_104 = 160_896 B.
    assert_eq!(s.chunks(), 1717);
    assert_eq!(s.chunk_size(1716), 160_896);
    assert_eq!(s.protocol, ProtocolKind::ClientServer);
    assert_eq!(s.network, ModelKind::MaxMin);
    assert_eq!(s.classes[0].name, "class0");
}

#[test]
fn overrides_go_through_validation() {
    let set = |kv: &[&str]| {
        let v: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    let s = set(&[
        "peers.0.count=50",
        "server.upload=20 Mbit/s",
        "network.model=fast",
    ])
    .unwrap();
    assert_eq!(s.peers(), 50);
    assert_eq!(s.server_upload, 2.5e6);
    assert_eq!(s.network, ModelKind::Fast);
    let e = set(&["peers.0.count=abc"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("peers.0.count"));
    assert_eq!(e.value.as_deref(), Some("\"abc\""));
    let e = set(&["peers.3.count=1"]).unwrap_err();
    assert!(e.message.contains("out of range"), "{e}");
    let e = set(&["nonsense"]).unwrap_err();
    assert!(e.message.contains("KEY=VALUE"), "{e}");
}

#[test]
fn optimal_kind_and_its_size_limit() {
    let set = |kv: &[&str]| {
        let v: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    let s = set(&["protocol.kind=optimal"]).unwrap();
    assert_eq!(s.protocol, ProtocolKind::Optimal);
    assert_eq!(s.protocol.name(), "optimal");
    assert!(s.protocol.is_p2p());
    // 10^7 peers x 1717 chunks = 1.7e10 > 2^32 = 4.29e9: rejected, naming the field.
    let e = set(&["protocol.kind=optimal", "peers.0.count=10000000"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("protocol.kind"));
    assert!(e.message.contains("N x M"), "{e}");
    // The same swarm is fine for client-server, which keeps no such state.
    assert!(set(&["peers.0.count=10000000"]).is_ok());
}
