//! The client's handling of what a router sends while it joins (`wamp::client::join_step`):
//! WELCOME, CHALLENGE (answered for ticket, WAMP-CRA and cryptosign credentials), ABORT and
//! anything else, from arbitrary bytes in each serializer. The first octet picks the
//! serializer and the credentials.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use wamp::auth::Credentials;
use wamp::client::{JoinStep, join_step};
use wamp::{Message, Serializer, Value};

/// The most PBKDF2 iterations a CHALLENGE may ask for here: the client honours up to 2^32 - 1,
/// which takes minutes and would only make the fuzzer report a timeout.
const MAX_ITERATIONS: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let ser = [Serializer::Json, Serializer::Msgpack, Serializer::Cbor][usize::from(pick % 3)];
    let credentials = match (pick / 3) % 4 {
        0 => Credentials::Anonymous,
        1 => Credentials::Ticket("ticket".into()),
        2 => Credentials::WampCra("secret".into()),
        _ => Credentials::Cryptosign([7; 32]),
    };
    let frame = Bytes::copy_from_slice(rest);
    if let Ok(Message::Challenge { extra, .. }) = wamp::decode(ser, &frame) {
        if extra
            .get("iterations")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > MAX_ITERATIONS)
        {
            return;
        }
    }
    if let Ok(JoinStep::Answer(answer)) = join_step(ser, &frame, &credentials) {
        assert!(matches!(answer, Message::Authenticate { .. }));
        wamp::encode(ser, &answer).expect("an AUTHENTICATE encodes");
    }
});
