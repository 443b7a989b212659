//! Hand-written binary encoding of what is stored per key and per event, and
//! of transaction batches in Raft log entries: length-prefixed byte strings
//! and big-endian integers. Values are copied as whole slices (serde would
//! visit a `Vec<u8>` byte by byte).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::api::{Compare, Event, EventType, KeyValue, Op, Revision, StoreError, TxnRequest};
use crate::mvcc::{Record, Version};

type Result<T> = std::result::Result<T, StoreError>;

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("corrupt {what} encoding"))
}

#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub fn kv(&mut self, kv: &KeyValue) -> &mut Self {
        self.bytes(&kv.key)
            .bytes(&kv.value)
            .u64(kv.create_revision.0)
            .u64(kv.mod_revision.0)
            .u64(kv.version)
    }
}

pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(corrupt("record"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Result<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| corrupt("integer"))?;
        Ok(u64::from_be_bytes(b))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.u64()?).map_err(|_| corrupt("length"))?;
        self.take(n)
    }
    pub fn kv(&mut self) -> Result<KeyValue> {
        Ok(KeyValue {
            key: self.bytes()?.to_vec(),
            value: self.bytes()?.to_vec(),
            create_revision: Revision(self.u64()?),
            mod_revision: Revision(self.u64()?),
            version: self.u64()?,
        })
    }
    pub fn end(&self, what: &str) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(corrupt(what))
        }
    }
}

pub fn encode_record(r: &Record) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(r.value.len() + 32));
    w.bytes(&r.value)
        .u64(r.create_revision)
        .u64(r.mod_revision)
        .u64(r.version);
    w.0
}

fn read_record(r: &mut Reader<'_>) -> Result<Record> {
    Ok(Record {
        value: r.bytes()?.to_vec(),
        create_revision: r.u64()?,
        mod_revision: r.u64()?,
        version: r.u64()?,
    })
}

pub fn decode_record(b: &[u8]) -> Result<Record> {
    let mut r = Reader(b);
    let rec = read_record(&mut r)?;
    r.end("record")?;
    Ok(rec)
}

pub fn encode_version(v: &Version) -> Vec<u8> {
    match v {
        Version::Put(rec) => {
            let mut out = vec![1];
            out.extend_from_slice(&encode_record(rec));
            out
        }
        Version::Tombstone => vec![0],
    }
}

pub fn decode_version(b: &[u8]) -> Result<Version> {
    let mut r = Reader(b);
    let v = match r.u8()? {
        0 => Version::Tombstone,
        1 => Version::Put(read_record(&mut r)?),
        _ => return Err(corrupt("history")),
    };
    r.end("history")?;
    Ok(v)
}

pub fn encode_event(e: &Event) -> Vec<u8> {
    let size = e.kv.key.len() + e.kv.value.len() + e.prev.as_ref().map_or(0, |p| p.value.len());
    let mut w = Writer(Vec::with_capacity(size + 96));
    w.u8(match e.kind {
        EventType::Put => 0,
        EventType::Delete => 1,
    })
    .kv(&e.kv);
    match &e.prev {
        Some(p) => w.u8(1).kv(p),
        None => w.u8(0),
    };
    w.0
}

pub fn decode_event(b: &[u8]) -> Result<Event> {
    let mut r = Reader(b);
    let kind = match r.u8()? {
        0 => EventType::Put,
        1 => EventType::Delete,
        _ => return Err(corrupt("event")),
    };
    let kv = r.kv()?;
    let prev = match r.u8()? {
        0 => None,
        1 => Some(r.kv()?),
        _ => return Err(corrupt("event")),
    };
    r.end("event")?;
    Ok(Event { kind, kv, prev })
}

pub fn encode_txns(txns: &[TxnRequest]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(txns.len() as u64);
    for t in txns {
        w.u64(t.compares.len() as u64);
        for c in &t.compares {
            w.bytes(&c.key).u64(c.mod_revision.0);
        }
        w.u64(t.success.len() as u64);
        for op in &t.success {
            match op {
                Op::Put { key, value } => w.u8(0).bytes(key).bytes(value),
                Op::Delete { key } => w.u8(1).bytes(key),
            };
        }
    }
    w.0
}

pub fn decode_txns(b: &[u8]) -> Result<Vec<TxnRequest>> {
    let mut r = Reader(b);
    // Counts are bounded by the input size, so a corrupt count cannot over-allocate.
    let cap = |n: u64, r: &Reader<'_>| (n as usize).min(r.0.len());
    let n = r.u64()?;
    let mut txns = Vec::with_capacity(cap(n, &r));
    for _ in 0..n {
        let nc = r.u64()?;
        let mut compares = Vec::with_capacity(cap(nc, &r));
        for _ in 0..nc {
            compares.push(Compare {
                key: r.bytes()?.to_vec(),
                mod_revision: Revision(r.u64()?),
            });
        }
        let no = r.u64()?;
        let mut success = Vec::with_capacity(cap(no, &r));
        for _ in 0..no {
            success.push(match r.u8()? {
                0 => Op::Put {
                    key: r.bytes()?.to_vec(),
                    value: r.bytes()?.to_vec(),
                },
                1 => Op::Delete {
                    key: r.bytes()?.to_vec(),
                },
                _ => return Err(corrupt("transaction")),
            });
        }
        txns.push(TxnRequest { compares, success });
    }
    r.end("transaction batch")?;
    Ok(txns)
}

/// Transactions in a Raft entry, serialized as one byte string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnBatch(pub Vec<TxnRequest>);

impl Serialize for TxnBatch {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(&encode_txns(&self.0))
    }
}

impl<'de> Deserialize<'de> for TxnBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TxnBatch;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an encoded transaction batch")
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> std::result::Result<TxnBatch, E> {
                decode_txns(b).map(TxnBatch).map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<TxnBatch, A::Error> {
                let mut b = Vec::new();
                while let Some(x) = seq.next_element::<u8>()? {
                    b.push(x);
                }
                self.visit_bytes(&b)
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str, rev: u64) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: v.into(),
            create_revision: Revision(1),
            mod_revision: Revision(rev),
            version: rev,
        }
    }

    #[test]
    fn events_and_versions_round_trip() {
        let e = Event {
            kind: EventType::Delete,
            kv: kv("/a", "", 9),
            prev: Some(kv("/a", "old\0value", 8)),
        };
        assert_eq!(decode_event(&encode_event(&e)).expect("decode"), e);
        let rec = Record {
            value: b"v".to_vec(),
            create_revision: 3,
            mod_revision: 4,
            version: 2,
        };
        assert_eq!(decode_record(&encode_record(&rec)).expect("decode"), rec);
        for v in [Version::Tombstone, Version::Put(rec)] {
            assert_eq!(decode_version(&encode_version(&v)).expect("decode"), v);
        }
    }

    #[test]
    fn txn_batches_round_trip_through_bincode() {
        let batch = TxnBatch(vec![
            TxnRequest {
                compares: vec![Compare {
                    key: b"/a".to_vec(),
                    mod_revision: Revision(7),
                }],
                success: vec![
                    Op::Put {
                        key: b"/a".to_vec(),
                        value: vec![0, 1, 255],
                    },
                    Op::Delete {
                        key: b"/b".to_vec(),
                    },
                ],
            },
            TxnRequest::default(),
        ]);
        let bytes = bincode::serialize(&batch).expect("encode");
        let back: TxnBatch = bincode::deserialize(&bytes).expect("decode");
        assert_eq!(back, batch);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let e = encode_event(&Event {
            kind: EventType::Put,
            kv: kv("/a", "v", 1),
            prev: None,
        });
        for cut in 0..e.len() {
            assert!(decode_event(&e[..cut]).is_err());
        }
        assert!(decode_txns(&[0, 0, 0, 0, 0, 0, 0, 9]).is_err());
    }
}
