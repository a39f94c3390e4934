//! What forwarding arguments without re-encoding saves: the cost of turning a received PUBLISH
//! into an EVENT, with the payload copied as raw bytes (same serializer), transcoded (the other
//! serializer), or decoded into values and encoded again (what a router without raw payloads
//! does).
//!
//! ```text
//! cargo run --release -p wamp --example codec_bench
//! ```

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use wamp::payload::Part;
use wamp::{Dict, Message, Payload, Serializer, Value, dict};

/// About 1 KB of arguments: ten records of mixed types.
fn payload() -> Payload {
    let records = (0..10)
        .map(|i| {
            Value::Dict(dict! {
                "id" => i,
                "name" => format!("sensor-{i}"),
                "value" => 21.5 + f64::from(i),
                "tags" => Value::List(vec!["a".into(), "b".into()]),
                "ok" => true,
            })
        })
        .collect();
    Payload::new(vec![Value::List(records)], dict! {"source" => "bench"})
}

fn event(payload: Payload) -> Message {
    Message::Event {
        subscription: 1234,
        publication: 5678,
        details: Dict::new(),
        payload,
    }
}

/// Median ns per call of `f` over 5 runs of `n` calls.
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    const N: u32 = 200_000;
    for ser in Serializer::ALL {
        let other = if ser == Serializer::Json {
            Serializer::Msgpack
        } else {
            Serializer::Json
        };
        let publish = Message::Publish {
            request: 1,
            options: Dict::new(),
            topic: "com.example.topic".into(),
            payload: payload(),
        };
        let frame: Bytes = wamp::encode(ser, &publish).expect("encodes");
        let Ok(Message::Publish { payload: raw, .. }) = wamp::decode(ser, &frame) else {
            panic!("decodes")
        };
        let decode = time(N, || {
            black_box(wamp::decode(ser, black_box(&frame)).ok());
        });
        let passthrough = time(N, || {
            black_box(wamp::encode(ser, &event(raw.clone())).ok());
        });
        let transcode = time(N, || {
            black_box(wamp::encode(other, &event(raw.clone())).ok());
        });
        let reencode = time(N, || {
            let args = raw.args().expect("args");
            let kwargs = raw.kwargs().expect("kwargs");
            let p = Payload {
                args: Some(Part::Value(Value::List(args))),
                kwargs: Some(Part::Value(Value::Dict(kwargs))),
            };
            black_box(wamp::encode(ser, &event(p)).ok());
        });
        println!(
            "{ser:>7}: PUBLISH of {} B: decode {decode:.0} ns; EVENT with raw payload {passthrough:.0} ns, \
             transcoded to {other} {transcode:.0} ns, decoded and re-encoded {reencode:.0} ns \
             ({:.1}x the raw copy)",
            frame.len(),
            reencode / passthrough
        );
    }
}
