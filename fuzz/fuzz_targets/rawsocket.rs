//! RawSocket: the server's answer to an arbitrary 4-octet handshake, the client's check of an
//! arbitrary reply, and the frame decoder (`FrameCodec`) over arbitrary bytes fed in arbitrary
//! chunks: frames come out whole, in order, never above the limit.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use wamp::Serializer;
use wamp::transport::Inbound;
use wamp::transport::rawsocket::{
    FrameCodec, HandshakeError, MAGIC, answer_handshake, check_reply, exponent_length,
};

const ALL: [Serializer; 3] = [Serializer::Json, Serializer::Msgpack, Serializer::Cbor];

fn handshake(hs: [u8; 4], limit: usize) {
    for offered in [&ALL[..], &ALL[1..], &[]] {
        let Ok((reply, outcome)) = answer_handshake(hs, offered, limit) else {
            assert_eq!(hs[1] & 0x0F, 0, "only serializer id 0 goes unanswered");
            continue;
        };
        assert_eq!(reply[0], MAGIC);
        assert_eq!(&reply[2..], &[0, 0]);
        match outcome {
            Ok((ser, peer_max)) => {
                assert!(offered.contains(&ser));
                assert_eq!(ser.rawsocket_id(), hs[1] & 0x0F);
                assert_eq!(peer_max, exponent_length(hs[1] >> 4));
                // Our reply announces no more than we accept, and the client side takes it.
                assert!(exponent_length(reply[1] >> 4) <= limit.max(512));
                let ours = check_reply(reply, ser).expect("a client accepts our own reply");
                assert_eq!(ours, exponent_length(reply[1] >> 4));
            }
            Err(_) => {
                assert_eq!(reply[1] & 0x0F, 0, "a refusal has serializer bits 0");
                let code = reply[1] >> 4;
                assert!(
                    code == HandshakeError::ReservedBits.code()
                        || code == HandshakeError::SerializerUnsupported.code()
                );
            }
        }
    }
    for ser in ALL {
        if let Ok(max) = check_reply(hs, ser) {
            assert_eq!(hs[0], MAGIC);
            assert!((512..=wamp::transport::rawsocket::MAX_FRAME).contains(&max));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let hs = [head[0], head[1], head[2], head[3]];
    let limit = usize::from(u16::from_be_bytes([head[4], head[5]]));
    handshake(hs, limit);
    // The frames, fed in chunks whose sizes come from the input's first octet.
    let chunk = usize::from(head[4] % 16) + 1;
    let mut codec = FrameCodec { max_in: limit };
    let mut buf = BytesMut::new();
    let mut frames = 0usize;
    'feed: for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Inbound::Message(b) | Inbound::Ping(b))) => {
                    assert!(b.len() <= limit);
                    frames += 1;
                }
                Ok(Some(Inbound::Pong)) => frames += 1,
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }
    assert!(frames * 4 <= rest.len());
});
