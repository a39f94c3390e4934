//! Writes the seed corpus `fuzz/corpus/<target>/seed-*`: one valid message of each type in
//! each serializer (written in JSON here, re-encoded for the others), RawSocket handshakes and
//! frames, WebSocket negotiation lines, CHALLENGEs for the client and the shipped configs.
//! Run from `fuzz/`: `cargo run --example write_seeds`.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use wamp::Serializer;

/// One message of each type, as `wamp.2.json` text.
const MESSAGES: [(&str, &str); 25] = [
    (
        "hello",
        r#"[1,"realm1",{"roles":{"publisher":{},"subscriber":{}},"authmethods":["anonymous"]}]"#,
    ),
    (
        "welcome",
        r#"[2,9129137332,{"roles":{"broker":{}},"authid":"x","authrole":"anonymous"}]"#,
    ),
    (
        "abort",
        r#"[3,{"message":"no such realm"},"wamp.error.no_such_realm"]"#,
    ),
    (
        "challenge-cra",
        r#"[4,"wampcra",{"challenge":"{\"nonce\":\"abc\"}","salt":"salt123","iterations":100,"keylen":32}]"#,
    ),
    (
        "challenge-cryptosign",
        r#"[4,"cryptosign",{"challenge":"a5f3d3e6a6f1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889900aa"}]"#,
    ),
    ("challenge-ticket", r#"[4,"ticket",{}]"#),
    ("authenticate", r#"[5,"c2lnbmF0dXJl",{}]"#),
    ("goodbye", r#"[6,{},"wamp.close.close_realm"]"#),
    (
        "error",
        r#"[8,48,7814135,{},"wamp.error.no_such_procedure",[1,"two"],{"k":3.5}]"#,
    ),
    (
        "publish",
        r#"[16,239714735,{"acknowledge":true},"com.myapp.mytopic1",["Hello, world!"],{"color":"orange","sizes":[23,42,7]}]"#,
    ),
    ("published", "[17,239714735,4429313566]"),
    (
        "subscribe",
        r#"[32,713845233,{"match":"wildcard"},"com.myapp..topic"]"#,
    ),
    ("subscribed", "[33,713845233,5512315355]"),
    ("unsubscribe", "[34,85346237,5512315355]"),
    ("unsubscribed", "[35,85346237]"),
    (
        "event",
        r#"[36,5512315355,4429313566,{},["Hello, world!"],{"n":null,"b":false}]"#,
    ),
    (
        "call",
        r#"[48,7814135,{"timeout":1000},"com.myapp.echo",["Hello, world!"],{}]"#,
    ),
    ("cancel", r#"[49,7814135,{"mode":"kill"}]"#),
    (
        "result",
        r#"[50,7814135,{"progress":true},[30],{"userid":123}]"#,
    ),
    (
        "register",
        r#"[64,25349185,{"match":"prefix","invoke":"roundrobin"},"com.myapp."]"#,
    ),
    ("registered", "[65,25349185,2103333224]"),
    ("unregister", "[66,788923562,2103333224]"),
    ("unregistered", "[67,788923562]"),
    (
        "invocation",
        r#"[68,6131533,9823526,{"caller":1},["Johnny"],{"firstname":"John"}]"#,
    ),
    (
        "yield",
        r#"[70,6131533,{},["Hello"],{"x":[1.5,-2,"\u00e9"]}]"#,
    ),
];

/// A client's WebSocket frame: FIN and `opcode`, masked (with a mask that changes nothing
/// the watcher looks at), `payload` unmasked as it is.
fn ws_client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&[1, 2, 3, 4]);
    f.extend_from_slice(payload);
    f
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("create the corpus folder");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
}

fn main() {
    for (name, json) in MESSAGES {
        let message = wamp::decode(Serializer::Json, &Bytes::from_static(json.as_bytes()))
            .unwrap_or_else(|e| panic!("seed {name}: {e}"));
        for (i, ser) in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor]
            .into_iter()
            .enumerate()
        {
            let bytes = wamp::encode(ser, &message).expect("encode a seed");
            let target = format!("codec_{}", ser.subprotocol().trim_start_matches("wamp.2."));
            if name != "challenge-ticket" {
                write(&target, name, &bytes);
            }
            let mut frame = Vec::new();
            if (name.starts_with("challenge") && name != "challenge-ticket")
                || (i == 0 && matches!(name, "welcome" | "abort" | "challenge-ticket"))
            {
                // client_messages: the first octet picks the serializer (i % 3) and the
                // credentials ((octet / 3) % 4: anonymous, ticket, wampcra, cryptosign).
                let creds = match name {
                    "challenge-ticket" => 1,
                    "challenge-cra" => 2,
                    "challenge-cryptosign" => 3,
                    _ => 0,
                };
                let pick = u8::try_from(creds * 3 + i).expect("small");
                let mut input = vec![pick];
                input.extend_from_slice(&bytes);
                write("client_messages", &format!("{name}-{i}"), &input);
            }
            if name == "call" {
                // rawsocket: handshake, 2 octets of limit, then frames (a PING, the message).
                let id = ser.rawsocket_id();
                frame.extend_from_slice(&[0x7F, 0xF0 | id, 0, 0, 0x40, 0x00]);
                wamp::transport::rawsocket::put_frame(
                    &mut frame,
                    wamp::transport::rawsocket::FrameType::Ping,
                    b"ping",
                    1 << 14,
                )
                .expect("a small frame");
                wamp::transport::rawsocket::put_frame(
                    &mut frame,
                    wamp::transport::rawsocket::FrameType::Regular,
                    &bytes,
                    1 << 14,
                )
                .expect("a small frame");
                write("rawsocket", &format!("{name}-{i}"), &frame);
            }
        }
    }
    write(
        "rawsocket",
        "refused",
        &[0x7F, 0x12, 0, 1, 0x02, 0x00, 2, 0, 0, 0],
    );
    write(
        "websocket",
        "offer",
        b"wamp.2.cbor, wamp.2.json\nhttp://localhost:*\nhttp://LOCALHOST:8080",
    );
    write(
        "websocket",
        "many",
        b"x,wamp.2.msgpack ,\n*.example.*\nhttps://a.example.com",
    );
    write("websocket", "null", b"wamp.2.json\nnull\nnull");
    // ws_frames: a chunk-size octet, an upgrade request, then client frames (masked).
    let request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n";
    let hello = br#"[1,"realm1",{"roles":{"caller":{}}}]"#;
    let with = |chunk: u8, frames: &[(u8, &[u8])], cut: Option<usize>| {
        let mut v = vec![chunk];
        v.extend_from_slice(request.as_bytes());
        for (opcode, payload) in frames {
            v.extend(ws_client_frame(*opcode, payload));
        }
        if let Some(cut) = cut {
            v.truncate(v.len() - cut);
        }
        v
    };
    write("ws_frames", "hello", &with(7, &[(0x81, hello)], None));
    write(
        "ws_frames",
        "ping-and-large",
        &with(31, &[(0x89, b"ping"), (0x82, &[b'x'; 300])], None),
    );
    write(
        "ws_frames",
        "stalled",
        &with(0, &[(0x81, b"[1]"), (0x82, &[b'y'; 1000])], Some(990)),
    );
    write(
        "uri",
        "ops",
        &[
            0, 1, 5, 2, 3, 1, 0, 2, 2, 4, 0, 2, 3, 3, 2, 4, 0, 1, 7, 3, 4, 0, 2, 1,
        ],
    );
    for entry in fs::read_dir("../config").expect("the shipped configs") {
        let path = entry.expect("a config").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            write("config", &name, &fs::read(&path).expect("read a config"));
        }
    }
    if let Ok(dir) = fs::read_dir("../config/examples") {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                write("config", &name, &fs::read(&path).expect("read a config"));
            }
        }
    }
}
